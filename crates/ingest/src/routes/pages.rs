//! The tracker's pages and their assets, compiled into the binary from
//! `crates/ingest/static/`: `/` (the checklist), `/dashboard`, and
//! `/static/<file>` (including `wstg-sync.js`, the drop-in script for
//! existing static trackers). No build step and nothing fetched at run time.
//!
//! Every asset carries a strong ETag (a hash of its bytes) and
//! `Cache-Control: no-cache`: browsers keep a copy and revalidate it, so a
//! new binary is picked up at once and an unchanged asset costs a 304.
//! Pages are served with a Content-Security-Policy that allows only this
//! origin: the page's scripts talk to this bridge and nowhere else.

use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::errors::ApiError;

pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $ct:literal) => {
        Asset {
            name: $name,
            content_type: $ct,
            body: include_bytes!(concat!("../../static/", $name)),
        }
    };
}

/// Every file under `static/`.
pub const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("dashboard.html", "text/html; charset=utf-8"),
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("assignment.js", "text/javascript; charset=utf-8"),
    asset!("comments.js", "text/javascript; charset=utf-8"),
    asset!("dashboard.js", "text/javascript; charset=utf-8"),
    asset!("wstg-sync.js", "text/javascript; charset=utf-8"),
    asset!("common.js", "text/javascript; charset=utf-8"),
    asset!("provenance.js", "text/javascript; charset=utf-8"),
    asset!("evidence.js", "text/javascript; charset=utf-8"),
    asset!("vulnerabilities.js", "text/javascript; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
];

/// The policy of the HTML pages: scripts, styles, images and connections of
/// this origin only; no framing, no plugins, no form posts elsewhere.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

pub fn asset(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// A strong ETag per asset, computed once (64-bit FNV-1a of the bytes).
fn etag(asset: &Asset) -> &'static str {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    let tags = TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let mut h: u64 = 0xcbf2_9ce4_8422_2325;
                for b in a.body {
                    h ^= u64::from(*b);
                    h = h.wrapping_mul(0x0000_0100_0000_01b3);
                }
                format!("\"{h:016x}-{}\"", a.body.len())
            })
            .collect()
    });
    ASSETS
        .iter()
        .position(|a| std::ptr::eq(a, asset))
        .and_then(|i| tags.get(i))
        .map(String::as_str)
        .unwrap_or("\"0\"")
}

fn serve(req: &HttpRequest, asset: &'static Asset) -> HttpResponse {
    let tag = etag(asset);
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let mut resp = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header((header::ETAG, tag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if asset.content_type.starts_with("text/html") {
        resp.insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_CSP),
        ))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"));
    }
    if fresh {
        return resp.finish();
    }
    resp.content_type(asset.content_type).body(asset.body)
}

fn named(req: &HttpRequest, name: &str) -> Result<HttpResponse, ApiError> {
    asset(name)
        .map(|a| serve(req, a))
        .ok_or_else(|| ApiError::NotFound(format!("asset {name}")))
}

/// `GET /`: the checklist.
pub async fn index(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    named(&req, "index.html")
}

/// `GET /dashboard`.
pub async fn dashboard(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    named(&req, "dashboard.html")
}

/// `GET /static/{file}`.
pub async fn static_file(
    req: HttpRequest,
    file: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    named(&req, &file)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use actix_web::body::to_bytes;
    use actix_web::test::TestRequest;

    #[test]
    fn every_asset_is_named_once_and_not_empty() {
        for (i, a) in ASSETS.iter().enumerate() {
            assert!(!a.body.is_empty(), "{}", a.name);
            assert!(ASSETS[i + 1..].iter().all(|b| b.name != a.name));
        }
    }

    #[test]
    fn the_page_credits_owasp() {
        for page in ["index.html", "dashboard.html"] {
            let html = std::str::from_utf8(asset(page).unwrap().body).unwrap();
            let mut text = String::new();
            let mut in_tag = false;
            for c in html.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            assert!(
                text.contains("WSTG catalogue: OWASP Web Security Testing Guide, CC BY-SA 4.0"),
                "{page}"
            );
            assert!(html.contains("https://creativecommons.org/licenses/by-sa/4.0/"));
        }
    }

    #[test]
    fn pages_load_nothing_from_another_origin() {
        for a in ASSETS.iter().filter(|a| !a.name.ends_with(".js")) {
            let text = String::from_utf8_lossy(a.body);
            for bad in ["src=\"http", "href=\"//", "src=\"//", "@import"] {
                assert!(!text.contains(bad), "{} contains {bad}", a.name);
            }
        }
    }

    #[actix_web::test]
    async fn serves_with_type_cache_headers_and_revalidation() {
        let req = TestRequest::get().uri("/static/app.js").to_http_request();
        let resp = named(&req, "app.js").unwrap();
        assert_eq!(resp.status(), 200);
        let h = resp.headers();
        assert_eq!(
            h.get(header::CONTENT_TYPE).unwrap(),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(h.get(header::CACHE_CONTROL).unwrap(), "no-cache");
        let tag = h.get(header::ETAG).unwrap().to_str().unwrap().to_owned();
        assert!(!to_bytes(resp.into_body()).await.unwrap().is_empty());

        let again = TestRequest::get()
            .insert_header((header::IF_NONE_MATCH, tag.as_str()))
            .to_http_request();
        assert_eq!(named(&again, "app.js").unwrap().status(), 304);

        let page = named(&req, "index.html").unwrap();
        assert!(page.headers().contains_key(header::CONTENT_SECURITY_POLICY));
        assert!(matches!(
            named(&req, "../Cargo.toml"),
            Err(ApiError::NotFound(_))
        ));
    }
}
