//! The comment rule: an item's discussion ↔ its finding's DefectDojo notes.
//!
//! Comments are append-only on both sides, so there is no conflict to
//! settle, only three questions, answered here from the item's stored
//! comments and the finding's notes as DefectDojo lists them:
//!
//! - which tracker comments still have to be posted ([`CommentStep::Post`]);
//! - which notes are ours ([`CommentStep::Link`]): a note whose id we
//!   recorded, or, for a tracker comment whose post was begun (the
//!   write-ahead mark) but whose note id we never learnt (DefectDojo's POST
//!   answers without the id; docs/defectdojo.md), the note whose entry is the
//!   one we send for it. So a post whose answer was lost is found, not sent
//!   twice, and a note we wrote is never brought back as a comment;
//! - which notes are news ([`CommentStep::Import`]): every other public
//!   note, once (by note id), within the per-item bound.
//!
//! No marker is written into the note: the write-ahead mark is taken before
//! the POST, so every note the bridge can have written is known by the time
//! it exists, and a marker a person can type would prove nothing more.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::comment::CommentBody;
use crate::username::Username;

/// Where a comment was first written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Tracker,
    Dojo,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Tracker => "tracker",
            Origin::Dojo => "dojo",
        }
    }

    pub fn parse(s: &str) -> Option<Origin> {
        match s {
            "tracker" => Some(Origin::Tracker),
            "dojo" => Some(Origin::Dojo),
            _ => None,
        }
    }
}

/// A comment as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredComment {
    pub id: Uuid,
    pub author: Username,
    pub body: CommentBody,
    pub origin: Origin,
    /// The DefectDojo note it is (posted and found, or imported).
    pub dojo_note_id: Option<i64>,
    /// The write-ahead mark: a POST of it may have been sent.
    pub post_started: bool,
}

/// A note as `GET /findings/{id}/notes/` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DojoNote {
    pub id: i64,
    /// The author's username.
    pub author: String,
    pub entry: String,
    pub date: Option<DateTime<Utc>>,
    pub private: bool,
}

/// Who carries the plan out: only the worker writes to DefectDojo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Worker,
    Poller,
}

/// One thing to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentStep {
    /// Mark the comment as being posted, then `POST` this entry.
    Post { comment: Uuid, entry: String },
    /// The note is the comment: record its id.
    Link { comment: Uuid, note_id: i64 },
    /// A note made in DefectDojo: store it as a comment of origin `dojo`.
    Import {
        note_id: i64,
        author: Username,
        body: CommentBody,
        created_at: Option<DateTime<Utc>>,
    },
}

/// The note entry a tracker comment is posted as: its text, then who wrote
/// it in the tracker (the note's DefectDojo author is the bridge's own user).
pub fn note_entry(author: &Username, body: &CommentBody) -> String {
    format!("{}\n\n— {author} (WSTG tracker)", body.as_str())
}

/// The entries compared as DefectDojo stores them (trimmed, `\n`).
fn same_entry(a: &str, b: &str) -> bool {
    a.replace("\r\n", "\n").trim() == b.replace("\r\n", "\n").trim()
}

/// The steps for one item. `max_comments` bounds the item's discussion:
/// imports stop there (the tracker side is refused at the API).
pub fn plan_comments(
    comments: &[StoredComment],
    notes: &[DojoNote],
    actor: Actor,
    max_comments: usize,
) -> Vec<CommentStep> {
    let mut claimed: Vec<i64> = comments.iter().filter_map(|c| c.dojo_note_id).collect();
    let mut steps = Vec::new();
    let mut notes_by_id: Vec<&DojoNote> = notes.iter().collect();
    notes_by_id.sort_by_key(|n| n.id);

    // Ours: tracker comments without a note id, oldest first; each note
    // stands for one comment at most (two equal comments, two notes).
    for c in comments
        .iter()
        .filter(|c| c.origin == Origin::Tracker && c.dojo_note_id.is_none())
    {
        let entry = note_entry(&c.author, &c.body);
        let found = c
            .post_started
            .then(|| {
                notes_by_id
                    .iter()
                    .find(|n| !claimed.contains(&n.id) && same_entry(&n.entry, &entry))
            })
            .flatten();
        match found {
            Some(n) => {
                claimed.push(n.id);
                steps.push(CommentStep::Link {
                    comment: c.id,
                    note_id: n.id,
                });
            }
            None if actor == Actor::Worker => steps.push(CommentStep::Post {
                comment: c.id,
                entry,
            }),
            None => {}
        }
    }

    // News: every other public note, oldest first, within the bound. A
    // note that may be one of our posts not yet found by the worker is
    // left alone while such a post is pending, so it is never imported
    // (an echo) before the worker links it.
    let pending: Vec<String> = comments
        .iter()
        .filter(|c| c.origin == Origin::Tracker && c.dojo_note_id.is_none() && c.post_started)
        .map(|c| note_entry(&c.author, &c.body))
        .collect();
    let mut room = max_comments.saturating_sub(comments.len());
    for n in notes_by_id {
        if room == 0 {
            break;
        }
        if n.private || claimed.contains(&n.id) || pending.iter().any(|e| same_entry(e, &n.entry)) {
            continue;
        }
        let (Ok(author), Some(body)) =
            (Username::parse(&n.author), CommentBody::from_note(&n.entry))
        else {
            continue;
        };
        room -= 1;
        steps.push(CommentStep::Import {
            note_id: n.id,
            author,
            body,
            created_at: n.date,
        });
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(s: &str) -> Username {
        Username::parse(s).unwrap()
    }

    fn body(s: &str) -> CommentBody {
        CommentBody::parse(s).unwrap()
    }

    fn tracker(n: u128, text: &str, note: Option<i64>, started: bool) -> StoredComment {
        StoredComment {
            id: Uuid::from_u128(n),
            author: user("alice"),
            body: body(text),
            origin: Origin::Tracker,
            dojo_note_id: note,
            post_started: started,
        }
    }

    fn imported(n: u128, note: i64) -> StoredComment {
        StoredComment {
            id: Uuid::from_u128(n),
            author: user("lead"),
            body: body("seen"),
            origin: Origin::Dojo,
            dojo_note_id: Some(note),
            post_started: false,
        }
    }

    fn note(id: i64, author: &str, entry: &str) -> DojoNote {
        DojoNote {
            id,
            author: author.into(),
            entry: entry.into(),
            date: None,
            private: false,
        }
    }

    fn ours(id: i64, text: &str) -> DojoNote {
        note(id, "bridge", &note_entry(&user("alice"), &body(text)))
    }

    fn kinds(steps: &[CommentStep]) -> Vec<String> {
        steps
            .iter()
            .map(|s| match s {
                CommentStep::Post { comment, .. } => format!("post {}", comment.as_u128()),
                CommentStep::Link { comment, note_id } => {
                    format!("link {} {note_id}", comment.as_u128())
                }
                CommentStep::Import { note_id, .. } => format!("import {note_id}"),
            })
            .collect()
    }

    /// The table: stored comments × the finding's notes × who acts → steps.
    #[test]
    fn the_table() {
        let w = Actor::Worker;
        let p = Actor::Poller;
        #[allow(clippy::type_complexity)]
        let rows: Vec<(&str, Vec<StoredComment>, Vec<DojoNote>, Actor, Vec<&str>)> = vec![
            ("nothing either side", vec![], vec![], w, vec![]),
            ("a new tracker comment is posted", vec![tracker(1, "hi", None, false)], vec![], w, vec!["post 1"]),
            ("the poller never posts", vec![tracker(1, "hi", None, false)], vec![], p, vec![]),
            (
                "a post whose answer was lost is found by its entry, not sent again",
                vec![tracker(1, "hi", None, true)],
                vec![ours(5, "hi")],
                w,
                vec!["link 1 5"],
            ),
            (
                "the poller links it too, and does not import it",
                vec![tracker(1, "hi", None, true)],
                vec![ours(5, "hi")],
                p,
                vec!["link 1 5"],
            ),
            (
                "a note with our entry before we began posting is a person's: ours is posted, theirs imported",
                vec![tracker(1, "hi", None, false)],
                vec![ours(5, "hi")],
                w,
                vec!["post 1", "import 5"],
            ),
            (
                "a begun post not yet listed: posted again (the POST never got through)",
                vec![tracker(1, "hi", None, true)],
                vec![],
                w,
                vec!["post 1"],
            ),
            (
                "a linked note is never imported (no echo)",
                vec![tracker(1, "hi", Some(5), true)],
                vec![ours(5, "hi")],
                p,
                vec![],
            ),
            (
                "a note made in DefectDojo is imported once",
                vec![],
                vec![note(7, "lead", "confirmed")],
                p,
                vec!["import 7"],
            ),
            (
                "an imported note is not imported again",
                vec![imported(2, 7)],
                vec![note(7, "lead", "confirmed")],
                p,
                vec![],
            ),
            (
                "two equal comments, two notes: one each",
                vec![tracker(1, "ok", None, true), tracker(2, "ok", None, true)],
                vec![ours(9, "ok"), ours(8, "ok")],
                w,
                vec!["link 1 8", "link 2 9"],
            ),
            (
                "two equal comments, one note listed: the second is posted",
                vec![tracker(1, "ok", None, true), tracker(2, "ok", None, true)],
                vec![ours(8, "ok")],
                w,
                vec!["link 1 8", "post 2"],
            ),
            (
                "an entry that differs only by DefectDojo's trimming and CRLF is ours",
                vec![tracker(1, "a\nb", None, true)],
                vec![note(5, "bridge", &format!(" {} \r\n", note_entry(&user("alice"), &body("a\nb")).replace('\n', "\r\n")))],
                p,
                vec!["link 1 5"],
            ),
            (
                "a private note stays in DefectDojo",
                vec![],
                vec![DojoNote { private: true, ..note(7, "lead", "internal") }],
                p,
                vec![],
            ),
            (
                "a note by the bridge's user that is no comment of ours is a person's (shared account)",
                vec![tracker(1, "hi", Some(5), true)],
                vec![ours(5, "hi"), note(6, "bridge", "typed in the UI")],
                p,
                vec!["import 6"],
            ),
        ];
        for (name, comments, notes, actor, want) in rows {
            assert_eq!(
                kinds(&plan_comments(&comments, &notes, actor, 100)),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn imports_stop_at_the_bound_oldest_first() {
        let notes: Vec<DojoNote> = (1..=5).rev().map(|i| note(i, "lead", "n")).collect();
        let have = vec![imported(1, 100)];
        assert_eq!(
            kinds(&plan_comments(&have, &notes, Actor::Poller, 3)),
            vec!["import 1", "import 2"]
        );
    }

    #[test]
    fn an_import_keeps_author_and_date() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-22T06:17:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let n = DojoNote {
            date: Some(at),
            ..note(7, "Lead.One", "  confirmed\r\nby hand ")
        };
        assert_eq!(
            plan_comments(&[], &[n], Actor::Poller, 10),
            vec![CommentStep::Import {
                note_id: 7,
                author: user("lead.one"),
                body: body("confirmed\nby hand"),
                created_at: Some(at),
            }]
        );
    }
}
