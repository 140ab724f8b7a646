//! The planner's table: every combination of the tracker side × DefectDojo's
//! side × policy × times, and the invariant — a tester's change is never
//! replaced by a DefectDojo state our own write produced (failed, partial,
//! timed out or landed late).

use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;

use super::*;
use crate::catalogue::{Catalogue, CatalogueVersion};
use crate::dojo_state::DojoItem;
use crate::event::DojoObservation;
use crate::mapping::{desired_tags, flags_for, status_tag};
use crate::wstg_id::WstgId;

fn id() -> WstgId {
    Catalogue::get(CatalogueVersion::V4_2)
        .parse_id("WSTG-INFO-01")
        .unwrap()
}

fn st(status: Status, notes: &str) -> ItemState {
    ItemState {
        status,
        notes: Notes::parse(notes.to_owned()).unwrap(),
        assignee: None,
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
}

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339()
}

/// A finding as the bridge writes it, with the original design's
/// upper-case tags.
fn finding(status: Status, notes: &str, at: Option<DateTime<Utc>>) -> DojoItem {
    DojoItem {
        finding_id: 7,
        flags: flags_for(status),
        tags: desired_tags(
            &["wstg".to_owned(), "wstg-info-01".to_owned()],
            &id(),
            status,
        ),
        notes: notes.to_owned(),
        updated: at.map(rfc),
        last_status_update: at.map(rfc),
    }
}

fn write(status: Status, notes: &str, tags: Option<Vec<String>>) -> InFlightWrite {
    InFlightWrite {
        id: Uuid::nil(),
        finding_id: Some(7),
        status: Some(status),
        notes: Some(Notes::parse(notes.to_owned()).unwrap()),
        tags,
        sent_at: t0(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TrackerCase {
    Absent,
    Unchanged,
    Changed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DojoCase {
    Absent,
    Unchanged,
    /// A lead closed the finding in DefectDojo.
    Changed,
    /// Our PATCH carrying the tester's change was answered 500: its fields
    /// saved, its tags wiped (docs/defectdojo.md §7).
    OurPartial500,
    /// Our earlier PATCH, timed out, landed after the tester moved on.
    OurLateWrite,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Times {
    TrackerNewer,
    DojoNewer,
    /// DefectDojo gave no time for its change.
    DojoUndated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    NoOp,
    Create,
    Patch,
    Pull,
    Link,
    Unlink,
}

fn kind(p: &Plan) -> Kind {
    match p {
        Plan::NoOp => Kind::NoOp,
        Plan::Create { .. } => Kind::Create,
        Plan::Patch { .. } => Kind::Patch,
        Plan::Pull { .. } => Kind::Pull,
        Plan::Link { .. } => Kind::Link,
        Plan::Unlink { .. } => Kind::Unlink,
        other => panic!("unexpected {other:?}"),
    }
}

fn conflict_of(p: &Plan) -> Option<ConflictPolicy> {
    match p {
        Plan::Create { audit, .. } | Plan::Patch { audit, .. } | Plan::Pull { audit, .. } => {
            audit.conflict
        }
        Plan::Link { audit, .. } => audit.as_ref().and_then(|a| a.conflict),
        _ => None,
    }
}

/// The last synced state: in progress, notes "a".
fn base() -> ItemState {
    st(Status::InProgress, "a")
}

/// The tester's change: blocked, notes "b".
fn tester() -> ItemState {
    st(Status::Blocked, "b")
}

fn input(t: TrackerCase, d: DojoCase, policy: ConflictPolicy, times: Times) -> PlanInput {
    let (tracker_at, dojo_at) = match times {
        Times::TrackerNewer => (t0() + Duration::seconds(5), Some(t0())),
        Times::DojoNewer => (t0(), Some(t0() + Duration::seconds(5))),
        Times::DojoUndated => (t0(), None),
    };
    let snapshot = finding(Status::InProgress, "a", Some(t0() - Duration::minutes(1)));
    let tracker = match t {
        TrackerCase::Absent => None,
        TrackerCase::Unchanged => Some(base()),
        TrackerCase::Changed => Some(tester()),
    };
    let mut in_flight = Vec::new();
    let dojo = match d {
        DojoCase::Absent => DojoRead::Absent,
        DojoCase::Unchanged => DojoRead::Present(snapshot.clone()),
        DojoCase::Changed => DojoRead::Present(finding(Status::Done, "a", dojo_at)),
        DojoCase::OurPartial500 => {
            let sent_tags = desired_tags(&snapshot.tags, &id(), Status::Blocked);
            in_flight.push(write(Status::Blocked, "b", Some(sent_tags)));
            let mut f = finding(Status::Blocked, "b", dojo_at);
            f.tags = vec![];
            DojoRead::Present(f)
        }
        DojoCase::OurLateWrite => {
            in_flight.push(write(
                Status::Done,
                "a",
                Some(desired_tags(&snapshot.tags, &id(), Status::Done)),
            ));
            DojoRead::Present(finding(Status::Done, "a", dojo_at))
        }
    };
    PlanInput {
        wstg_id: id(),
        trigger: Trigger::Recheck,
        record: Some(RecordSide {
            tracker,
            tracker_changed_at: Some(tracker_at),
            tracker_pushed: t != TrackerCase::Changed,
            last_synced: Some(base()),
            snapshot: Some(snapshot),
            last_write_at: Some(t0() - Duration::minutes(1)),
            in_sync: t != TrackerCase::Changed,
        }),
        dojo,
        in_flight,
        avoid_tags: vec![],
        policy,
        now: t0() + Duration::seconds(10),
        write_interval: Duration::milliseconds(350),
    }
}

/// The rule, stated independently of the code: what each combination must do.
fn expected(t: TrackerCase, d: DojoCase, policy: ConflictPolicy, times: Times) -> (Kind, bool) {
    use DojoCase as D;
    use TrackerCase as T;
    let conflict_winner_dojo = match policy {
        ConflictPolicy::DojoWins => true,
        ConflictPolicy::TrackerWins => false,
        // The corner two copies once disagreed on: an undated DefectDojo
        // change loses to a dated tracker change.
        ConflictPolicy::NewestWins => times == Times::DojoNewer,
    };
    match (t, d) {
        (T::Absent, D::Absent) => (Kind::NoOp, false),
        (T::Unchanged, D::Absent) => (Kind::Unlink, false),
        (T::Changed, D::Absent) => (Kind::Create, false),
        (T::Unchanged, D::Unchanged) => (Kind::NoOp, false),
        (T::Changed, D::Unchanged) => (Kind::Patch, false),
        (T::Absent, D::Unchanged) => (Kind::Pull, false),
        (T::Absent | T::Unchanged, D::Changed) => (Kind::Pull, false),
        (T::Changed, D::Changed) if conflict_winner_dojo => (Kind::Pull, true),
        (T::Changed, D::Changed) => (Kind::Patch, true),
        // Our own write is never an edit made in DefectDojo: the tracker's
        // state is written again, whatever the policy.
        (T::Changed | T::Unchanged, D::OurPartial500 | D::OurLateWrite) => (Kind::Patch, false),
        (T::Absent, D::OurPartial500 | D::OurLateWrite) => (Kind::Link, false),
    }
}

const TRACKER: [TrackerCase; 3] = [
    TrackerCase::Absent,
    TrackerCase::Unchanged,
    TrackerCase::Changed,
];
const DOJO: [DojoCase; 5] = [
    DojoCase::Absent,
    DojoCase::Unchanged,
    DojoCase::Changed,
    DojoCase::OurPartial500,
    DojoCase::OurLateWrite,
];
const POLICIES: [ConflictPolicy; 3] = [
    ConflictPolicy::DojoWins,
    ConflictPolicy::TrackerWins,
    ConflictPolicy::NewestWins,
];
const TIMES: [Times; 3] = [Times::TrackerNewer, Times::DojoNewer, Times::DojoUndated];

#[test]
fn the_table_every_combination() {
    let mut rows = 0;
    for t in TRACKER {
        for d in DOJO {
            for p in POLICIES {
                for times in TIMES {
                    let plan = plan(&input(t, d, p, times));
                    let (want, conflict) = expected(t, d, p, times);
                    assert_eq!(
                        kind(&plan),
                        want,
                        "{t:?} × {d:?} × {p} × {times:?}: {plan:?}"
                    );
                    assert_eq!(
                        conflict_of(&plan),
                        conflict.then_some(p),
                        "{t:?} × {d:?} × {p} × {times:?}: conflict"
                    );
                    rows += 1;
                }
            }
        }
    }
    assert_eq!(rows, 3 * 5 * 3 * 3);
}

#[test]
fn invariant_a_tester_change_is_never_replaced_by_our_own_write() {
    for t in [TrackerCase::Changed, TrackerCase::Unchanged] {
        for d in [DojoCase::OurPartial500, DojoCase::OurLateWrite] {
            for p in POLICIES {
                for times in TIMES {
                    let plan = plan(&input(t, d, p, times));
                    let want = if t == TrackerCase::Changed {
                        tester()
                    } else {
                        base()
                    };
                    match &plan {
                        Plan::Patch { sent, patch, .. } => {
                            assert_eq!(sent, &want, "{t:?} × {d:?} × {p}");
                            assert!(!patch.is_empty());
                        }
                        other => panic!("{t:?} × {d:?} × {p} × {times:?}: {other:?}"),
                    }
                }
            }
        }
    }
}

#[test]
fn a_genuine_edit_is_not_hidden_by_an_unrelated_write_of_ours() {
    // Our timed-out write carried "done"; the lead marked it not applicable.
    let mut i = input(
        TrackerCase::Changed,
        DojoCase::Changed,
        ConflictPolicy::DojoWins,
        Times::DojoNewer,
    );
    i.in_flight = vec![write(Status::Done, "a", None)];
    i.dojo = DojoRead::Present(finding(Status::NotApplicable, "a", Some(t0())));
    let p = plan(&i);
    assert_eq!(kind(&p), Kind::Pull);
    assert_eq!(conflict_of(&p), Some(ConflictPolicy::DojoWins));
}

#[test]
fn tracker_triggers_coalesce_trust_the_snapshot_and_search_when_unlinked() {
    let mut i = input(
        TrackerCase::Changed,
        DojoCase::Unchanged,
        ConflictPolicy::DojoWins,
        Times::TrackerNewer,
    );
    i.trigger = Trigger::TrackerChanged;
    i.dojo = DojoRead::NotRead;
    assert_eq!(kind(&plan(&i)), Kind::Patch, "snapshot trusted, no read");
    let last = i.now - Duration::milliseconds(100);
    i.record.as_mut().unwrap().last_write_at = Some(last);
    assert_eq!(
        plan(&i),
        Plan::Defer {
            due: last + Duration::milliseconds(350)
        }
    );
    i.record.as_mut().unwrap().last_write_at = None;
    i.record.as_mut().unwrap().snapshot = None;
    assert_eq!(plan(&i), Plan::Read(Read::Search));
    i.dojo = DojoRead::Absent;
    assert_eq!(kind(&plan(&i)), Kind::Create);
    i.record.as_mut().unwrap().tracker_pushed = true;
    assert_eq!(plan(&i), Plan::NoOp, "already pushed");
    i.record = None;
    assert_eq!(plan(&i), Plan::NoOp, "nothing recorded");
}

#[test]
fn rechecks_read_and_observations_older_than_the_snapshot_are_ignored() {
    let mut i = input(
        TrackerCase::Unchanged,
        DojoCase::Unchanged,
        ConflictPolicy::DojoWins,
        Times::TrackerNewer,
    );
    i.dojo = DojoRead::NotRead;
    assert_eq!(plan(&i), Plan::Read(Read::Finding(7)));
    // A poll that raced our write: older `updated` than our snapshot.
    let mut old = finding(Status::Done, "a", Some(t0() - Duration::minutes(5)));
    old.finding_id = 7;
    i.trigger = Trigger::Observed(DojoObservation::Present(old));
    assert_eq!(plan(&i), Plan::NoOp);
    i.trigger = Trigger::Observed(DojoObservation::Deleted { finding_id: 7 });
    assert_eq!(kind(&plan(&i)), Kind::Unlink);
    i.trigger = Trigger::Observed(DojoObservation::Deleted { finding_id: 99 });
    assert_eq!(plan(&i), Plan::NoOp, "another finding's deletion");
}

#[test]
fn tags_are_compared_in_any_case_and_sent_only_when_they_change() {
    let mut i = input(
        TrackerCase::Changed,
        DojoCase::Unchanged,
        ConflictPolicy::DojoWins,
        Times::TrackerNewer,
    );
    // Same status, notes change only: no tags in the PATCH.
    i.record.as_mut().unwrap().tracker = Some(st(Status::InProgress, "new notes"));
    let Plan::Patch { patch, .. } = plan(&i) else {
        panic!()
    };
    assert_eq!(patch.tags, None);
    assert_eq!(patch.notes.as_deref(), Some("new notes"));
    // A status change: the held tags are kept as they are, the status tag changes.
    i.record.as_mut().unwrap().tracker = Some(tester());
    let Plan::Patch { patch, .. } = plan(&i) else {
        panic!()
    };
    let tags = patch.tags.unwrap();
    assert_eq!(tags, vec!["wstg", "wstg-info-01", "wstg-status:blocked"]);
}

#[test]
fn the_partial_500_sequence_completes_the_write_without_the_colliding_tags() {
    // 1. The tester's change is planned as a PATCH carrying tags.
    let mut i = input(
        TrackerCase::Changed,
        DojoCase::Unchanged,
        ConflictPolicy::DojoWins,
        Times::TrackerNewer,
    );
    let Plan::Patch {
        finding_id,
        patch,
        sent,
        ..
    } = plan(&i)
    else {
        panic!()
    };
    let carried = patch.tags.clone().unwrap();
    // 2. DefectDojo answers 500: re-read, and leave the non-status tags out.
    let v = interpret(
        WriteKind::Patch { finding_id },
        &sent,
        Some(&carried),
        &[],
        Answer::TagCollision,
    );
    let Verdict::Reread {
        read,
        avoid_tags,
        warning,
    } = v
    else {
        panic!("{v:?}")
    };
    assert_eq!(read, Read::Finding(7));
    assert_eq!(avoid_tags, vec!["wstg", "wstg-info-01"]);
    let warning = warning.unwrap();
    assert!(
        warning.contains("'wstg'") && warning.contains("admin"),
        "{warning}"
    );
    // 3. The re-read shows the partial save: fields saved, tags wiped.
    let mut wiped = finding(Status::Blocked, "b", Some(t0()));
    wiped.tags = vec![];
    i.dojo = DojoRead::Present(wiped.clone());
    i.avoid_tags = avoid_tags.clone();
    i.in_flight = vec![write(Status::Blocked, "b", Some(carried.clone()))];
    let Plan::Patch { patch, sent, .. } = plan(&i) else {
        panic!()
    };
    assert_eq!(patch.tags, Some(vec![status_tag(Status::Blocked)]));
    assert!(!patch.changes_status() && patch.notes.is_none());
    // 4. Saved: done, and the poller's reading of it is no change.
    let mut after = wiped.clone();
    after.tags = vec![status_tag(Status::Blocked)];
    let v = interpret(
        WriteKind::Patch { finding_id: 7 },
        &sent,
        patch.tags.as_deref(),
        &avoid_tags,
        Answer::Saved(after.clone()),
    );
    assert_eq!(
        v,
        Verdict::Done {
            after: after.clone()
        }
    );
    assert!(!observe::is_change(Some(&after), &after.clone()));
    // 5. Had the worker died after the 500, the poller's observation of the
    // partial save is still ours under every policy: pushed, never pulled.
    for p in POLICIES {
        let mut j = input(
            TrackerCase::Changed,
            DojoCase::Unchanged,
            p,
            Times::DojoNewer,
        );
        j.in_flight = vec![write(Status::Blocked, "b", Some(carried.clone()))];
        j.trigger = Trigger::Observed(DojoObservation::Present(wiped.clone()));
        j.dojo = DojoRead::NotRead;
        assert_eq!(kind(&plan(&j)), Kind::Patch, "{p}");
    }
}

#[test]
fn answers_mean_what_they_say() {
    let sent = tester();
    let mine = finding(Status::Blocked, "b", Some(t0()));
    let p = WriteKind::Patch { finding_id: 7 };
    assert_eq!(
        interpret(p, &sent, None, &[], Answer::Saved(mine.clone())),
        Verdict::Done {
            after: mine.clone()
        }
    );
    // DefectDojo changed meanwhile: plan again with its answer (conflict).
    let theirs = finding(Status::NotApplicable, "b", Some(t0()));
    assert_eq!(
        interpret(p, &sent, None, &[], Answer::Saved(theirs.clone())),
        Verdict::Replan {
            dojo: DojoRead::Present(theirs)
        }
    );
    assert_eq!(
        interpret(p, &sent, None, &[], Answer::OutcomeUnknown),
        Verdict::InFlight
    );
    assert!(!Verdict::InFlight.clears_intent());
    assert_eq!(
        interpret(p, &sent, None, &[], Answer::NotSent),
        Verdict::Failed
    );
    assert!(matches!(
        interpret(p, &sent, None, &[], Answer::NotFound),
        Verdict::Reread {
            read: Read::Search,
            ..
        }
    ));
    assert!(matches!(
        interpret(p, &sent, None, &[], Answer::Invalid),
        Verdict::Reread {
            read: Read::Finding(7),
            ..
        }
    ));
    // A tag collision: first the other tags go, then the status tag, then
    // it is a failure (never a loop).
    let tags = vec!["wstg".to_owned(), status_tag(Status::Blocked)];
    let Verdict::Reread { avoid_tags, .. } =
        interpret(p, &sent, Some(&tags), &[], Answer::TagCollision)
    else {
        panic!()
    };
    assert_eq!(avoid_tags, vec!["wstg"]);
    let status_only = vec![status_tag(Status::Blocked)];
    let Verdict::Reread { avoid_tags, .. } = interpret(
        p,
        &sent,
        Some(&status_only),
        &avoid_tags,
        Answer::TagCollision,
    ) else {
        panic!()
    };
    assert_eq!(
        avoid_tags,
        vec!["wstg".to_owned(), status_tag(Status::Blocked)]
    );
    assert_eq!(
        interpret(p, &sent, None, &avoid_tags, Answer::TagCollision),
        Verdict::Failed
    );
    // A create refused for its tags: look before making another.
    assert!(matches!(
        interpret(
            WriteKind::Create,
            &sent,
            Some(&tags),
            &[],
            Answer::TagCollision
        ),
        Verdict::Reread {
            read: Read::Search,
            ..
        }
    ));
}

#[test]
fn after_a_pull_the_status_tag_is_aligned_once() {
    // A lead closed the finding; its tag still says in progress.
    let mut i = input(
        TrackerCase::Unchanged,
        DojoCase::Changed,
        ConflictPolicy::DojoWins,
        Times::DojoNewer,
    );
    let mut closed = finding(Status::Done, "a", Some(t0()));
    closed.tags = finding(Status::InProgress, "a", None).tags;
    i.dojo = DojoRead::Present(closed);
    let Plan::Pull {
        align, state, dojo, ..
    } = plan(&i)
    else {
        panic!()
    };
    assert_eq!(state.status, Status::Done);
    let align = align.unwrap();
    assert_eq!(
        align.tags.as_deref().unwrap(),
        ["wstg", "wstg-info-01", "wstg-status:done"]
    );
    // Aligned and recorded: the next reading is no change, so no second write.
    let mut after = dojo.clone();
    after.tags = align.tags.clone().unwrap();
    let v = interpret(
        WriteKind::Align { finding_id: 7 },
        &state,
        align.tags.as_deref(),
        &[],
        Answer::Saved(after.clone()),
    );
    assert_eq!(
        v,
        Verdict::Done {
            after: after.clone()
        }
    );
    let mut j = i.clone();
    let r = j.record.as_mut().unwrap();
    r.snapshot = Some(after.clone());
    r.last_synced = Some(state.clone());
    r.tracker = Some(state);
    j.dojo = DojoRead::Present(after);
    assert_eq!(plan(&j), Plan::NoOp);
}

#[test]
fn newest_wins_corner_is_decided_once() {
    use super::plan::dojo_wins;
    let p = ConflictPolicy::NewestWins;
    assert!(!dojo_wins(p, Some(t0()), None), "undated DefectDojo loses");
    assert!(dojo_wins(p, None, Some(t0())));
    assert!(
        dojo_wins(p, Some(t0()), Some(t0())),
        "a tie goes to DefectDojo"
    );
    assert!(dojo_wins(p, None, None));
}

#[test]
fn newest_wins_dates_a_defectdojo_edit_by_the_clock_that_edit_moves() {
    // The status was last changed at t0 - 10 min; the tester changed the
    // item at t0. In DefectDojo someone then (t0 + 5 s, `updated`) edited
    // the notes, or the assignee tag, or the status. An edit that leaves
    // the status moves only `updated`: dated by `last_status_update` it
    // would look older than the tester's change and lose.
    let status_changed_at = t0() - Duration::minutes(10);
    let saved_at = t0() + Duration::seconds(5);
    let carol = crate::Username::parse("carol").unwrap();
    // (what DefectDojo holds now, last_status_update, who wins)
    let table: Vec<(&str, ItemState, DateTime<Utc>, Kind)> = vec![
        (
            "notes edited after the tester",
            st(Status::InProgress, "lead's"),
            status_changed_at,
            Kind::Pull,
        ),
        (
            "assignee retagged after the tester",
            ItemState {
                assignee: Some(carol.clone()),
                ..base()
            },
            status_changed_at,
            Kind::Pull,
        ),
        (
            "status changed after the tester",
            st(Status::Done, "a"),
            saved_at,
            Kind::Pull,
        ),
        // A status changed before the tester's change, in a finding saved
        // since for another reason (a note of ours, a DefectDojo job): the
        // status change is the edit, and it is older.
        (
            "status changed before the tester",
            st(Status::Done, "a"),
            t0() - Duration::seconds(5),
            Kind::Patch,
        ),
    ];
    for (case, dojo_state, lsu, expected) in table {
        let mut i = input(
            TrackerCase::Changed,
            DojoCase::Changed,
            ConflictPolicy::NewestWins,
            Times::TrackerNewer,
        );
        let r = i.record.as_mut().unwrap();
        r.tracker_changed_at = Some(t0());
        let mut d = finding(dojo_state.status, dojo_state.notes.as_str(), Some(saved_at));
        d.last_status_update = Some(rfc(lsu));
        d.tags = crate::mapping::with_assignee(&d.tags, dojo_state.assignee.as_ref());
        i.dojo = DojoRead::Present(d);
        let p = plan(&i);
        assert_eq!(kind(&p), expected, "{case}: {p:?}");
    }
}

#[test]
fn a_lead_reassigning_in_defectdojo_is_pulled_even_when_the_list_read_is_torn() {
    // Recorded on the real DefectDojo 3.2.0: the lead PATCHes the tags
    // (alice → carol); DefectDojo saves the finding (`updated` moves), then
    // replaces the tags in a second step. The poller's list read in
    // between showed the finding with no tags, or with some of them.
    let alice = crate::Username::parse("alice").unwrap();
    let carol = crate::Username::parse("carol").unwrap();
    let synced = ItemState {
        assignee: Some(alice.clone()),
        ..base()
    };
    let created = t0() - Duration::minutes(1);
    let mut ours = finding(Status::InProgress, "a", Some(created));
    ours.tags = crate::mapping::with_assignee(&ours.tags, Some(&alice));
    let saved = t0();
    let mut complete = finding(Status::InProgress, "a", Some(saved));
    complete.last_status_update = Some(rfc(created));
    complete.tags = crate::mapping::with_assignee(&complete.tags, Some(&carol));
    let torn = |tags: Vec<String>| DojoItem {
        tags,
        ..complete.clone()
    };
    let observed = |reading: DojoItem, snapshot: &DojoItem| {
        let mut i = input(
            TrackerCase::Unchanged,
            DojoCase::Unchanged,
            ConflictPolicy::DojoWins,
            Times::DojoNewer,
        );
        let r = i.record.as_mut().unwrap();
        r.last_synced = Some(synced.clone());
        r.tracker = Some(synced.clone());
        r.snapshot = Some(snapshot.clone());
        i.trigger = Trigger::Observed(DojoObservation::Present(reading));
        i.dojo = DojoRead::NotRead;
        i
    };

    // No tags at all: nothing was edited that the item holds; recorded, no
    // write, the tester's state kept (not Not Started, not unassigned).
    let p = plan(&observed(torn(vec![]), &ours));
    let Plan::Link { state, .. } = &p else {
        panic!("{p:?}")
    };
    assert_eq!(state, &synced);

    // Some tags linked, the assignee tag not yet: a change as far as the
    // list says, so the finding itself is read before anything is decided.
    let half = torn(vec!["wstg".to_owned(), "wstg-info-01".to_owned()]);
    assert_eq!(
        plan(&observed(half.clone(), &ours)),
        Plan::Read(Read::Finding(7))
    );
    // Read once the tag step is done: the lead's assignee is pulled, and
    // no tag is written over it.
    let mut i = observed(half, &ours);
    i.dojo = DojoRead::Present(complete.clone());
    let p = plan(&i);
    let Plan::Pull { state, align, .. } = &p else {
        panic!("{p:?}")
    };
    assert_eq!(state.assignee, Some(carol.clone()));
    assert_eq!(state.status, Status::InProgress);
    assert_eq!(align, &None);

    // The torn reading recorded first, the complete one seen next at the
    // same `updated`: it is news, and it is read and pulled.
    let torn_snapshot = torn(vec![]);
    assert!(super::plan::is_fresh(&complete, &torn_snapshot));
    assert!(!super::plan::is_fresh(&torn_snapshot, &complete));
    assert_eq!(
        plan(&observed(complete.clone(), &torn_snapshot)),
        Plan::Read(Read::Finding(7))
    );
}

#[test]
fn an_answer_holding_our_late_write_and_our_patch_is_ours_not_a_conflict() {
    // The tester went done → notes v3. Our PATCH of the notes is answered
    // with the status of an earlier PATCH of ours that timed out and landed
    // first (not started): the replan sees both writes as ours and writes
    // the tracker's state again, under every policy.
    for p in POLICIES {
        let mut i = input(
            TrackerCase::Changed,
            DojoCase::Unchanged,
            p,
            Times::DojoNewer,
        );
        let r = i.record.as_mut().unwrap();
        r.last_synced = Some(st(Status::Done, "v2"));
        r.snapshot = Some(finding(Status::Done, "v2", Some(t0())));
        r.tracker = Some(st(Status::Done, "v3"));
        i.trigger = Trigger::TrackerChanged;
        i.dojo = DojoRead::NotRead;
        let late = write(Status::NotStarted, "v2", None);
        let Plan::Patch { patch, sent, .. } = plan(&i) else {
            panic!()
        };
        assert_eq!(patch.notes.as_deref(), Some("v3"));
        let answer = finding(Status::NotStarted, "v3", Some(t0() + Duration::seconds(1)));
        let Verdict::Replan { dojo } = interpret(
            WriteKind::Patch { finding_id: 7 },
            &sent,
            None,
            &[],
            Answer::Saved(answer),
        ) else {
            panic!()
        };
        let ours = InFlightWrite {
            status: None,
            notes: Some(Notes::parse("v3".to_owned()).unwrap()),
            ..write(Status::Done, "v3", None)
        };
        i.in_flight = vec![late, ours];
        i.dojo = dojo;
        let Plan::Patch { sent, patch, .. } = plan(&i) else {
            panic!("{p}: {:?}", plan(&i))
        };
        assert_eq!(sent, st(Status::Done, "v3"), "{p}");
        assert!(patch.changes_status(), "{p}");
    }
}

#[test]
fn a_finding_holding_upper_case_tags_never_gets_a_tag_write() {
    // The original design's finding: tag rows "WSTG" and "WSTG-INFO-01"
    // written through the ORM. Any tag write could meet their lowercase
    // twins (a 500 that wipes the tags), so the status goes in the flags only.
    let mut i = input(
        TrackerCase::Changed,
        DojoCase::Unchanged,
        ConflictPolicy::DojoWins,
        Times::TrackerNewer,
    );
    let mut design = finding(Status::NotStarted, "a", Some(t0()));
    design.tags = vec!["WSTG".to_owned(), "WSTG-INFO-01".to_owned()];
    let record = i.record.as_mut().unwrap();
    record.snapshot = Some(design.clone());
    record.tracker = Some(st(Status::Done, "a"));
    i.dojo = DojoRead::Present(design.clone());
    let Plan::Patch { patch, .. } = plan(&i) else {
        panic!("{:?}", plan(&i))
    };
    assert_eq!(patch.tags, None);
    assert_eq!(patch.is_mitigated, Some(true));

    // DefectDojo's answer to that write says what was sent, although the
    // finding has no status tag to say Blocked with.
    let mut after = design.clone();
    after.flags = flags_for(Status::Blocked);
    let v = interpret(
        WriteKind::Patch { finding_id: 7 },
        &st(Status::Blocked, "a"),
        None,
        &[],
        Answer::Saved(after.clone()),
    );
    assert_eq!(v, Verdict::Done { after });

    // Blocked and Not Started read alike without a status tag: once our
    // write is recorded, DefectDojo equal to the snapshot is unchanged, and
    // the tester's Blocked is not pulled back as Not Started.
    let record = i.record.as_mut().unwrap();
    record.tracker = Some(st(Status::Blocked, "a"));
    record.last_synced = Some(st(Status::Blocked, "a"));
    record.tracker_pushed = true;
    record.in_sync = true;
    i.trigger = Trigger::Observed(DojoObservation::Present(design.clone()));
    assert_eq!(plan(&i), Plan::NoOp);

    // A lead's close is still seen, and no tag alignment follows it.
    let mut closed = design;
    closed.flags = flags_for(Status::Done);
    closed.updated = Some(rfc(t0() + chrono::Duration::seconds(5)));
    i.dojo = DojoRead::Present(closed);
    let Plan::Pull { align, state, .. } = plan(&i) else {
        panic!()
    };
    assert_eq!(state.status, Status::Done);
    assert_eq!(align, None);
}

// ---------------------------------------------------------------- the assignee (issue 12 item 3)

fn who(s: &str) -> Option<crate::Username> {
    Some(crate::Username::parse(s).unwrap())
}

/// A finding as the bridge writes it, assigned by its `wstg-assignee:` tag.
fn assigned_finding(assignee: Option<&str>, at: DateTime<Utc>) -> DojoItem {
    let mut f = finding(Status::InProgress, "a", Some(at));
    f.tags = crate::mapping::with_assignee(
        &desired_tags(&[], &id(), Status::InProgress),
        assignee.and_then(who).as_ref(),
    );
    f
}

fn with_assignee(assignee: Option<&str>) -> ItemState {
    ItemState {
        assignee: assignee.and_then(who),
        ..base()
    }
}

/// What a plan leaves the item assigned to: the tracker's after a pull or
/// link, DefectDojo's after a patch (from the tags it sends).
fn assignee_after(p: &Plan) -> Option<Option<String>> {
    let name = |a: Option<crate::Username>| a.map(|a| a.as_str().to_owned());
    match p {
        Plan::Patch { patch, .. } => Some(name(crate::mapping::assignee_from_tags(
            patch.tags.as_deref()?,
        ))),
        Plan::Pull { state, .. } | Plan::Link { state, .. } => Some(name(state.assignee.clone())),
        _ => None,
    }
}

/// The assignee's table, in the planner's terms: the last synced assignee
/// is alice; each row says what the tracker and DefectDojo hold now, any
/// write of ours still in flight, the policy, and the plan and resulting
/// assignee expected.
#[test]
fn the_assignee_table() {
    use ConflictPolicy::*;
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        &str,
        Option<&str>,
        Option<&str>,
        Option<&str>,
        ConflictPolicy,
        Kind,
        Option<Option<&str>>,
    )> = vec![
        (
            "tracker assigns bob: the tag is replaced",
            who_s("bob"),
            who_s("alice"),
            None,
            DojoWins,
            Kind::Patch,
            Some(who_s("bob")),
        ),
        (
            "tracker unassigns: the tag is removed",
            None,
            who_s("alice"),
            None,
            DojoWins,
            Kind::Patch,
            Some(None),
        ),
        (
            "a lead retags carol in DefectDojo: pulled",
            who_s("alice"),
            who_s("carol"),
            None,
            DojoWins,
            Kind::Pull,
            Some(who_s("carol")),
        ),
        (
            "a lead removes the tag: unassigned",
            who_s("alice"),
            None,
            None,
            DojoWins,
            Kind::Pull,
            Some(None),
        ),
        (
            "both changed differently, dojo_wins",
            who_s("bob"),
            who_s("carol"),
            None,
            DojoWins,
            Kind::Pull,
            Some(who_s("carol")),
        ),
        (
            "both changed differently, tracker_wins",
            who_s("bob"),
            who_s("carol"),
            None,
            TrackerWins,
            Kind::Patch,
            Some(who_s("bob")),
        ),
        (
            "both moved to the same assignee: linked, no write",
            who_s("bob"),
            who_s("bob"),
            None,
            DojoWins,
            Kind::Link,
            Some(who_s("bob")),
        ),
        (
            "our late write of bob is not a lead's edit: dave written again",
            who_s("dave"),
            who_s("bob"),
            who_s("bob"),
            DojoWins,
            Kind::Patch,
            Some(who_s("dave")),
        ),
        (
            "a lead retags carol while our write of alice is in flight: the lead's edit",
            who_s("alice"),
            who_s("carol"),
            who_s("alice"),
            DojoWins,
            Kind::Pull,
            Some(who_s("carol")),
        ),
    ];
    for (name, tracker, dojo, in_flight, policy, kind_want, after) in rows {
        let mut i = input(
            TrackerCase::Unchanged,
            DojoCase::Unchanged,
            policy,
            Times::TrackerNewer,
        );
        let rec = i.record.as_mut().unwrap();
        rec.last_synced = Some(with_assignee(Some("alice")));
        rec.snapshot = Some(assigned_finding(Some("alice"), t0() - Duration::minutes(1)));
        rec.tracker = Some(with_assignee(tracker));
        let tracker_moved = tracker != Some("alice");
        rec.tracker_pushed = !tracker_moved;
        rec.in_sync = !tracker_moved;
        i.dojo = DojoRead::Present(assigned_finding(dojo, t0()));
        if let Some(w) = in_flight {
            i.in_flight.push(InFlightWrite {
                tags: Some(crate::mapping::with_assignee(
                    &desired_tags(&[], &id(), Status::InProgress),
                    who(w).as_ref(),
                )),
                ..write(Status::InProgress, "a", None)
            });
        }
        let p = plan(&i);
        assert_eq!(kind(&p), kind_want, "{name}: {p:?}");
        assert_eq!(
            assignee_after(&p),
            after.map(|a| a.map(str::to_owned)),
            "{name}: {p:?}"
        );
    }
}

fn who_s(s: &str) -> Option<&str> {
    Some(s)
}

#[test]
fn our_own_assignee_write_read_back_is_no_change() {
    // After the push of bob: synced bob, snapshot = DefectDojo's answer.
    let answer = assigned_finding(Some("bob"), t0());
    let mut i = input(
        TrackerCase::Unchanged,
        DojoCase::Unchanged,
        ConflictPolicy::DojoWins,
        Times::TrackerNewer,
    );
    let rec = i.record.as_mut().unwrap();
    rec.last_synced = Some(with_assignee(Some("bob")));
    rec.tracker = Some(with_assignee(Some("bob")));
    rec.snapshot = Some(answer.clone());
    i.trigger = Trigger::Observed(DojoObservation::Present(answer));
    i.dojo = DojoRead::NotRead;
    assert_eq!(plan(&i), Plan::NoOp);
}

#[test]
fn a_created_finding_carries_the_assignee_tag() {
    let mut i = input(
        TrackerCase::Changed,
        DojoCase::Absent,
        ConflictPolicy::DojoWins,
        Times::TrackerNewer,
    );
    let rec = i.record.as_mut().unwrap();
    rec.snapshot = None;
    rec.tracker = Some(ItemState {
        assignee: who("bob"),
        ..tester()
    });
    match plan(&i) {
        Plan::Create { tags, .. } => {
            assert!(tags.contains(&"wstg-assignee:bob".to_owned()), "{tags:?}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_finding_whose_tags_are_not_written_keeps_the_tracker_assignee() {
    // The original design's upper-case tags: no tag write, so no assignee
    // tag; a lead's status change there must not unassign the item.
    let mut f = finding(Status::Done, "a", Some(t0()));
    f.tags = vec!["WSTG".into(), "WSTG-INFO-01".into()];
    let mut i = input(
        TrackerCase::Unchanged,
        DojoCase::Unchanged,
        ConflictPolicy::DojoWins,
        Times::TrackerNewer,
    );
    let rec = i.record.as_mut().unwrap();
    rec.last_synced = Some(with_assignee(Some("alice")));
    rec.tracker = Some(with_assignee(Some("alice")));
    i.dojo = DojoRead::Present(f.clone());
    match plan(&i) {
        Plan::Pull { state, .. } => {
            assert_eq!(state.status, Status::Done);
            assert_eq!(state.assignee, who("alice"));
        }
        other => panic!("{other:?}"),
    }
    // And an assignee change in the tracker is no write there.
    let mut f2 = f;
    f2.flags = flags_for(Status::InProgress);
    let rec = i.record.as_mut().unwrap();
    rec.tracker = Some(with_assignee(Some("bob")));
    rec.tracker_pushed = false;
    rec.in_sync = false;
    rec.snapshot = Some(f2.clone());
    i.dojo = DojoRead::Present(f2);
    assert!(matches!(plan(&i), Plan::Link { .. }), "{:?}", plan(&i));
}
