//! What the poller counts as a change, and which finding stands for an item.
//! The poller only reads DefectDojo and the store and calls these.

use std::collections::HashMap;

use crate::dojo_state::DojoItem;
use crate::event::DojoObservation;
use crate::mapping::same_tags;
use crate::wstg_id::WstgId;

/// True when `observed` is news against our snapshot `known` of the linked
/// finding: another finding, another save (`updated`), other flags, other
/// tags (compared in any order and case) or other notes (line endings
/// aside). An unlinked item's finding is always news.
pub fn is_change(known: Option<&DojoItem>, observed: &DojoItem) -> bool {
    let Some(k) = known else {
        return true;
    };
    !(k.finding_id == observed.finding_id
        && k.updated == observed.updated
        && k.flags == observed.flags
        && same_tags(&k.tags, &observed.tags)
        && k.notes.replace("\r\n", "\n") == observed.notes.replace("\r\n", "\n"))
}

/// One finding per item among `found` (finding id, the item it names): the
/// linked one if it is there, else the oldest (lowest id), so a duplicate
/// made by someone else never displaces the finding we write.
pub fn choose_findings(
    found: impl IntoIterator<Item = (i64, WstgId)>,
    linked: &HashMap<WstgId, i64>,
) -> HashMap<WstgId, i64> {
    let mut chosen: HashMap<WstgId, i64> = HashMap::new();
    for (fid, id) in found {
        let link = linked.get(&id).copied();
        match chosen.get(&id) {
            Some(current) if link == Some(*current) => {}
            Some(current) if link != Some(fid) && *current < fid => {}
            _ => {
                chosen.insert(id, fid);
            }
        }
    }
    chosen
}

/// The findings a change feed brought for one project, when the feed alone
/// can judge them: each finding naming an item must be the one that item is
/// linked to. A finding of an unlinked item, or another finding naming a
/// linked item (a duplicate someone made), needs the whole test to choose
/// from ([`choose_findings`] prefers the oldest, which a feed of recent
/// changes may not hold): `None`, read the test in full.
pub fn feed_findings(
    found: impl IntoIterator<Item = (i64, WstgId)>,
    linked: &HashMap<WstgId, i64>,
) -> Option<Vec<(WstgId, i64)>> {
    let mut out: Vec<(WstgId, i64)> = Vec::new();
    for (fid, id) in found {
        if linked.get(&id) != Some(&fid) {
            return None;
        }
        if !out.iter().any(|(_, f)| *f == fid) {
            out.push((id, fid));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Some(out)
}

/// The observations one poll pass emits: every chosen finding that is news
/// against the item's snapshot, and every linked finding no longer in the
/// test (deleted), unless the item already has an observation.
/// `snapshots` holds, per linked item, its finding id and our snapshot.
pub fn observations(
    chosen: Vec<(WstgId, DojoItem)>,
    snapshots: &HashMap<WstgId, (i64, Option<DojoItem>)>,
    present: &dyn Fn(i64) -> bool,
) -> Vec<(WstgId, DojoObservation)> {
    let mut events: Vec<(WstgId, DojoObservation)> = chosen
        .into_iter()
        .filter(|(id, observed)| {
            is_change(snapshots.get(id).and_then(|(_, s)| s.as_ref()), observed)
        })
        .map(|(id, observed)| (id, DojoObservation::Present(observed)))
        .collect();
    let mut gone: Vec<(WstgId, DojoObservation)> = snapshots
        .iter()
        .filter(|(id, (fid, _))| !present(*fid) && !events.iter().any(|(e, _)| e == *id))
        .map(|(id, (fid, _))| (id.clone(), DojoObservation::Deleted { finding_id: *fid }))
        .collect();
    gone.sort_by(|a, b| a.0.cmp(&b.0));
    events.extend(gone);
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{Catalogue, CatalogueVersion};

    fn id(s: &str) -> WstgId {
        Catalogue::get(CatalogueVersion::V4_2).parse_id(s).unwrap()
    }

    fn item(fid: i64, updated: &str, tags: &[&str]) -> DojoItem {
        DojoItem {
            finding_id: fid,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            updated: Some(updated.to_owned()),
            ..DojoItem::default()
        }
    }

    #[test]
    fn a_feed_judges_only_the_linked_findings_of_linked_items() {
        let linked: HashMap<WstgId, i64> =
            [(id("WSTG-INFO-01"), 10), (id("WSTG-INFO-02"), 20)].into();
        // (found, expected): None means "read the test in full".
        type Row = (Vec<(i64, &'static str)>, Option<Vec<(&'static str, i64)>>);
        let table: Vec<Row> = vec![
            (vec![], Some(vec![])),
            (vec![(10, "WSTG-INFO-01")], Some(vec![("WSTG-INFO-01", 10)])),
            (
                vec![
                    (20, "WSTG-INFO-02"),
                    (10, "WSTG-INFO-01"),
                    (10, "WSTG-INFO-01"),
                ],
                Some(vec![("WSTG-INFO-01", 10), ("WSTG-INFO-02", 20)]),
            ),
            // a duplicate of a linked item: the full list chooses
            (vec![(10, "WSTG-INFO-01"), (11, "WSTG-INFO-01")], None),
            (vec![(11, "WSTG-INFO-01")], None),
            // an item with no link yet (made in DefectDojo): the full list chooses
            (vec![(30, "WSTG-INFO-03")], None),
        ];
        for (found, want) in table {
            let got = feed_findings(found.iter().map(|(f, i)| (*f, id(i))), &linked);
            let want = want.map(|w| w.into_iter().map(|(i, f)| (id(i), f)).collect::<Vec<_>>());
            assert_eq!(got, want, "{found:?}");
        }
    }

    #[test]
    fn a_change_is_a_new_save_flags_tags_or_notes_not_order_case_or_line_endings() {
        let k = item(1, "t1", &["wstg", "WSTG-INFO-01"]);
        assert!(!is_change(
            Some(&k),
            &item(1, "t1", &["wstg-info-01", "WSTG"])
        ));
        assert!(is_change(
            Some(&k),
            &item(1, "t2", &["wstg", "WSTG-INFO-01"])
        ));
        assert!(is_change(
            Some(&k),
            &item(2, "t1", &["wstg", "WSTG-INFO-01"])
        ));
        assert!(is_change(None, &k));
        let mut crlf = k.clone();
        crlf.notes = "a\r\nb".into();
        let mut lf = k.clone();
        lf.notes = "a\nb".into();
        assert!(!is_change(Some(&lf), &crlf));
    }

    #[test]
    fn the_linked_finding_stands_for_its_item_else_the_oldest() {
        let a = id("WSTG-INFO-01");
        let linked = HashMap::from([(a.clone(), 7)]);
        let chosen = choose_findings([(9, a.clone()), (7, a.clone()), (3, a.clone())], &linked);
        assert_eq!(chosen[&a], 7);
        let chosen = choose_findings([(9, a.clone()), (3, a.clone())], &HashMap::new());
        assert_eq!(chosen[&a], 3);
    }

    #[test]
    fn a_linked_finding_missing_from_the_test_is_deleted() {
        let (a, b) = (id("WSTG-INFO-01"), id("WSTG-INFO-02"));
        let snaps = HashMap::from([
            (a.clone(), (1, Some(item(1, "t1", &[])))),
            (b.clone(), (2, Some(item(2, "t1", &[])))),
        ]);
        let ev = observations(vec![(a.clone(), item(1, "t1", &[]))], &snaps, &|f| f == 1);
        assert_eq!(
            ev,
            vec![(b, DojoObservation::Deleted { finding_id: 2 })],
            "unchanged a is not news"
        );
    }
}
