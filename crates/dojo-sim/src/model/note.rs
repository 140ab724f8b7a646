//! `Notes` and `NoteHistory` (dojo/notes/models.py, NoteSerializer).

use serde_json::{json, Value};

use crate::clock::{self, Timestamp};
use crate::db::Db;

#[derive(Clone, Debug)]
pub struct NoteHistory {
    pub id: u64,
    pub data: String,
    pub time: Timestamp,
    pub current_editor: u64,
}

#[derive(Clone, Debug)]
pub struct Note {
    pub id: u64,
    pub entry: String,
    pub author: u64,
    pub private: bool,
    /// `date` (when the note is about; the close action passes the mitigation time).
    pub date: Timestamp,
    /// `edit_time` defaults to "now" at creation, just after `date`.
    pub edit_time: Timestamp,
    pub history: Vec<NoteHistory>,
}

impl Note {
    /// `NoteSerializer` (LIVE 43, 63).
    pub fn to_json(&self, db: &Db) -> Value {
        let history: Vec<Value> = self
            .history
            .iter()
            .map(|h| {
                json!({
                    "id": h.id,
                    "current_editor": db.user_stub(h.current_editor),
                    "note_type": null,
                    "data": h.data,
                    "time": clock::format_datetime(&h.time),
                })
            })
            .collect();
        json!({
            "id": self.id,
            "author": db.user_stub(self.author),
            "editor": null,
            "history": history,
            "note_type": null,
            "entry": self.entry,
            "date": clock::format_datetime(&self.date),
            "private": self.private,
            "edited": false,
            "edit_time": clock::format_datetime(&self.edit_time),
        })
    }
}
