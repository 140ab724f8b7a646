//! A finding's files (DefectDojo 3.2.0, docs/defectdojo.md §16):
//! `GET|POST /findings/{id}/files/` and
//! `GET /findings/{id}/files/download/{file_id}/`.
//!
//! Uploads are multipart (`title`, `file`); DefectDojo checks the file
//! name's extension against its allow-list and wants titles unique across
//! the instance. Downloads are read at most up to a caller's limit.

use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde::Deserialize;
use wstg_domain::sync::evidence::DojoFile;

use crate::client::{DojoClient, Payload};
use crate::error::{DojoError, RequestContext};

#[derive(Debug, Deserialize)]
struct FileRec {
    id: i64,
    #[serde(default)]
    title: String,
}

#[derive(Debug, Deserialize)]
struct FileList {
    files: Vec<FileRec>,
}

impl DojoClient {
    /// The files attached to `finding` (one request; the list is not paged).
    pub async fn list_finding_files(&self, finding: i64) -> Result<Vec<DojoFile>, DojoError> {
        let url = self.url(&format!("findings/{finding}/files/"), &[])?;
        let list: FileList = self
            .send_json(Method::GET, url, None, RequestContext::default())
            .await?;
        Ok(list
            .files
            .into_iter()
            .map(|f| DojoFile {
                id: f.id,
                title: f.title,
            })
            .collect())
    }

    /// Attaches `bytes` to `finding` as `file_name` titled `title`; returns
    /// DefectDojo's file id.
    pub async fn upload_finding_file(
        &self,
        finding: i64,
        title: &str,
        file_name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<i64, DojoError> {
        let url = self.url(&format!("findings/{finding}/files/"), &[])?;
        let part = Part::bytes(bytes)
            .file_name(file_name.to_owned())
            .mime_str(content_type)
            .map_err(|e| DojoError::Config(format!("content type {content_type}: {e}")))?;
        let form = Form::new()
            .text("title", title.to_owned())
            .part("file", part);
        let what = format!("POST findings/{finding}/files/");
        let body = self
            .send_payload(
                Method::POST,
                url,
                Payload::Multipart(form),
                RequestContext::default(),
                None,
            )
            .await?;
        let rec: FileRec =
            serde_json::from_slice(&body).map_err(|e| DojoError::Decode(format!("{what}: {e}")))?;
        Ok(rec.id)
    }

    /// The bytes of one of `finding`'s files, refused past `limit` bytes.
    pub async fn download_finding_file(
        &self,
        finding: i64,
        file: i64,
        limit: u64,
    ) -> Result<Vec<u8>, DojoError> {
        let url = self.url(&format!("findings/{finding}/files/download/{file}/"), &[])?;
        self.send_payload(
            Method::GET,
            url,
            Payload::Empty,
            RequestContext::default(),
            Some(limit),
        )
        .await
    }
}
