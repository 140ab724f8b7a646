//! A finding's files, as DefectDojo 3.2.0 serves them (dojo/finding/api/views.py `files` and
//! `download_file`, dojo/file_uploads; recorded in tests/fixtures/recorded/files,
//! docs/defectdojo.md §16):
//!
//! - `POST /findings/{id}/files/` (multipart `title`, `file`): 201 `{id, file, title}`, `file`
//!   being the stored path `/media/uploaded_files/<uuid>.<ext>`. The file name's extension must
//!   be in `FILE_UPLOAD_TYPES` (case-insensitive; `.jpeg` but not `.jpg`), else 400
//!   `{"non_field_errors": ["Unsupported extension. ..."]}`; titles are unique across the
//!   instance and at most 100 characters. A body that is not multipart is a 415.
//! - `GET /findings/{id}/files/`: `{finding_id, files: [{id, file, title}]}`, `file` being the UI's
//!   `<site>/access_file/<id>/<finding>/Finding`.
//! - `GET /findings/{id}/files/download/{file_id}/`: the bytes, `Content-Type` by extension,
//!   `Content-Disposition: attachment; filename="<title cleaned><ext>"`; a file of another
//!   finding is 404 `{"error": "File ID not associated with Finding"}`.
//!
//! Bounded: a file is at most the server's body limit, and all files together at most
//! [`MAX_TOTAL_FILE_BYTES`] (beyond it, 400 naming the limit: an emulator's choice; the real
//! server is bounded by its disk).

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use futures::StreamExt;
use serde_json::json;

use super::{created, ok, pk, resource};
use crate::auth::Authenticated;
use crate::drf::{ApiError, ApiResult, ErrorItem, FieldErrors};
use crate::state::AppState;

const MODEL: &str = "Finding";

/// DefectDojo's default `DD_FILE_UPLOAD_TYPES` (dojo/settings/settings.dist.py).
pub const FILE_UPLOAD_TYPES: &[&str] = &[
    ".txt", ".pdf", ".json", ".xml", ".csv", ".yml", ".png", ".jpeg", ".sarif", ".xlsx", ".doc",
    ".html", ".js", ".nessus", ".zip", ".fpr",
];

/// What the emulator keeps of all files together.
pub const MAX_TOTAL_FILE_BYTES: usize = 256 * 1024 * 1024;

/// One `FileUpload` attached to one finding.
#[derive(Clone, Debug)]
pub struct SimFile {
    pub id: u64,
    pub finding: u64,
    pub title: String,
    /// The stored name's extension as uploaded (case kept: `.PNG` stays).
    pub extension: String,
    pub bytes: Vec<u8>,
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/findings/{id}/files/")
            .route(web::get().to(list))
            .route(web::post().to(upload)),
    )
    .service(resource("/findings/{id}/files/download/{file_id}/").route(web::get().to(download)));
}

fn site(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

async fn list(
    _a: Authenticated,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let db = state.db();
    let id = pk(&id, MODEL)?;
    if !db.findings.contains_key(&id) {
        return Err(ApiError::not_found(MODEL));
    }
    let site = site(&req);
    let files: Vec<_> = db
        .files
        .values()
        .filter(|f| f.finding == id)
        .map(|f| {
            json!({
                "id": f.id,
                "file": format!("{site}/access_file/{}/{id}/Finding", f.id),
                "title": f.title,
            })
        })
        .collect();
    Ok(ok(json!({ "finding_id": id, "files": files })))
}

async fn upload(
    _a: Authenticated,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let id = pk(&id, MODEL)?;
    if !state.db().findings.contains_key(&id) {
        return Err(ApiError::not_found(MODEL));
    }
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if !ctype.starts_with("multipart/form-data") {
        let shown = ctype.split(';').next().unwrap_or("").trim().to_owned();
        return Err(ApiError::detail(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Unsupported media type \"{shown}\" in request."),
        ));
    }
    let mut form = Multipart::new(req.headers(), payload);
    let mut title: Option<String> = None;
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| {
            ApiError::detail(
                actix_web::http::StatusCode::BAD_REQUEST,
                format!("Multipart form parse error - {e}"),
            )
        })?;
        let (name, filename) = match field.content_disposition() {
            Some(cd) => (
                cd.get_name().unwrap_or("").to_owned(),
                cd.get_filename().map(str::to_owned),
            ),
            None => continue,
        };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| ApiError::Internal)?;
            bytes.extend_from_slice(&chunk);
        }
        match (name.as_str(), filename) {
            ("title", _) => title = Some(String::from_utf8_lossy(&bytes).into_owned()),
            ("file", Some(fname)) => file = Some((fname, bytes)),
            _ => {}
        }
    }
    let mut errors = FieldErrors::default();
    match &title {
        None => errors.add("title", ErrorItem::required()),
        Some(t) if t.is_empty() => errors.add(
            "title",
            ErrorItem::new("This field may not be blank.", "blank"),
        ),
        Some(t) if t.chars().count() > 100 => errors.add(
            "title",
            ErrorItem::new(
                "Ensure this field has no more than 100 characters.",
                "max_length",
            ),
        ),
        Some(t) if state.db().files.values().any(|f| &f.title == t) => errors.add(
            "title",
            ErrorItem::new("file upload with this title already exists.", "unique"),
        ),
        _ => {}
    }
    if file.is_none() {
        errors.add("file", ErrorItem::new("No file was submitted.", "required"));
    }
    if !errors.is_empty() {
        return Err(ApiError::ViewErrors(errors));
    }
    let (Some(title), Some((fname, bytes))) = (title, file) else {
        return Err(ApiError::Internal);
    };
    let extension = std::path::Path::new(&fname)
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    if !FILE_UPLOAD_TYPES.contains(&extension.to_lowercase().as_str()) {
        return Err(ApiError::ViewErrors(FieldErrors::non_field(format!(
            "Unsupported extension. Supported extensions are as follows: {}",
            FILE_UPLOAD_TYPES.join(", ")
        ))));
    }
    let mut db = state.db();
    let total: usize = db.files.values().map(|f| f.bytes.len()).sum();
    if total + bytes.len() > MAX_TOTAL_FILE_BYTES {
        return Err(ApiError::ViewErrors(FieldErrors::non_field(format!(
            "dojo-sim keeps at most {MAX_TOTAL_FILE_BYTES} bytes of files"
        ))));
    }
    let file_id = db.next_file_id();
    let stored = format!("/media/uploaded_files/{}{extension}", uuid::Uuid::new_v4());
    db.files.insert(
        file_id,
        SimFile {
            id: file_id,
            finding: id,
            title: title.clone(),
            extension,
            bytes,
        },
    );
    Ok(created(
        json!({ "id": file_id, "file": stored, "title": title }),
    ))
}

async fn download(
    _a: Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (id, file_id) = path.into_inner();
    let id = pk(&id, MODEL)?;
    let db = state.db();
    if !db.findings.contains_key(&id) {
        return Err(ApiError::not_found(MODEL));
    }
    let file = file_id
        .parse::<u64>()
        .ok()
        .and_then(|fid| db.files.get(&fid))
        .filter(|f| f.finding == id)
        .ok_or_else(|| {
            ApiError::body(
                actix_web::http::StatusCode::NOT_FOUND,
                json!({"error": "File ID not associated with Finding"}),
            )
        })?;
    // dojo/utils.py generate_file_response: the title with problem characters dashed, plus
    // the stored file's extension; the type guessed from the name.
    let cleaned: String = file
        .title
        .chars()
        .map(|c| {
            if "<>:\"/\\|?*`='&%#;".contains(c) {
                '-'
            } else {
                c
            }
        })
        .collect();
    let ctype = match file.extension.to_lowercase().as_str() {
        ".png" => "image/png",
        ".jpeg" => "image/jpeg",
        ".pdf" => "application/pdf",
        ".json" => "application/json",
        ".xml" => "application/xml",
        ".csv" => "text/csv",
        ".txt" => "text/plain",
        ".html" => "text/html",
        ".js" => "text/javascript",
        ".zip" => "application/zip",
        _ => "application/octet-stream",
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, ctype))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{cleaned}{}\"", file.extension),
        ))
        .body(file.bytes.clone()))
}
