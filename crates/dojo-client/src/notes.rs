//! A finding's notes (`/findings/{id}/notes/`, docs/defectdojo.md §17):
//! the POST answers 201 with the note but without its id, so the id is
//! learnt by listing the finding's notes (GET lists them with ids, newest
//! first, in one unpaged answer).

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;
use wstg_domain::sync::comments::DojoNote;

use crate::client::DojoClient;
use crate::error::{DojoError, RequestContext};

#[derive(Debug, Deserialize)]
struct NoteAuthor {
    #[serde(default)]
    username: String,
}

#[derive(Debug, Deserialize)]
struct Note {
    id: i64,
    author: Option<NoteAuthor>,
    #[serde(default)]
    entry: String,
    #[serde(default)]
    date: Option<DateTime<Utc>>,
    #[serde(default)]
    private: bool,
}

#[derive(Debug, Deserialize)]
struct FindingNotes {
    #[serde(default)]
    notes: Vec<Note>,
}

impl DojoClient {
    /// `GET findings/{id}/notes/`: every note of the finding (one request).
    pub async fn finding_notes(&self, finding: i64) -> Result<Vec<DojoNote>, DojoError> {
        let url = self.url(&format!("findings/{finding}/notes/"), &[])?;
        let got: FindingNotes = self
            .send_json(Method::GET, url, None, RequestContext::default())
            .await?;
        Ok(got
            .notes
            .into_iter()
            .map(|n| DojoNote {
                id: n.id,
                author: n.author.map(|a| a.username).unwrap_or_default(),
                entry: n.entry,
                date: n.date,
                private: n.private,
            })
            .collect())
    }

    /// `POST findings/{id}/notes/`: a public note. The answer holds no id.
    pub async fn add_finding_note(&self, finding: i64, entry: &str) -> Result<(), DojoError> {
        let url = self.url(&format!("findings/{finding}/notes/"), &[])?;
        let body = json!({"entry": entry, "private": false});
        self.send(Method::POST, url, Some(&body), RequestContext::default())
            .await
            .map(drop)
    }
}
