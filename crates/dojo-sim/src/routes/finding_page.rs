//! `GET /finding/{id}`: a minimal, read-only HTML page for one finding, at the path of
//! DefectDojo's own finding page, so the "Finding #N" links the bridge shows answer
//! against the emulator too. The real page needs a logged-in session; the emulator is a
//! local test double, so this page asks for none and shows only what the API shows.

use actix_web::{web, HttpResponse};

use crate::model::finding::Finding;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/finding/{id}", web::get().to(page))
        .route("/finding/{id}/", web::get().to(page));
}

async fn page(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    // Render under the lock, answer after it is released.
    let html = {
        let db = state.db();
        id.parse::<u64>()
            .ok()
            .and_then(|id| db.findings.get(&id))
            .map(|finding| {
                let notes: Vec<String> = finding
                    .notes
                    .iter()
                    .filter_map(|n| db.notes.get(n))
                    .map(|n| format!("<li>{}</li>", escape(&n.entry)))
                    .collect();
                render(finding, &notes)
            })
    };
    match html {
        Some(html) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(html),
        None => super::not_found().await,
    }
}

fn render(f: &Finding, notes: &[String]) -> String {
    let flag = |name: &str, on: bool| format!("<tr><th>{name}</th><td>{on}</td></tr>");
    let flags: String = [
        ("active", f.active),
        ("verified", f.verified),
        ("is_mitigated", f.is_mitigated),
        ("out_of_scope", f.out_of_scope),
        ("false_p", f.false_p),
        ("risk_accepted", f.risk_accepted),
    ]
    .iter()
    .map(|(n, on)| flag(n, *on))
    .collect();
    let tags = f
        .tags
        .iter()
        .map(|t| escape(t))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n  \
         <title>Finding #{id}: {title}</title>\n</head>\n<body>\n  \
         <p>DefectDojo emulator (dojo-sim): read-only view.</p>\n  \
         <h1>Finding #{id}: {title}</h1>\n  <table>\n  \
         <tr><th>severity</th><td>{severity}</td></tr>\n  {flags}\n  \
         <tr><th>tags</th><td>{tags}</td></tr>\n  </table>\n  \
         <h2>Description</h2>\n  <pre>{description}</pre>\n  \
         <h2>Notes</h2>\n  <ul>{notes}</ul>\n  \
         <p><a href=\"/api/v2/findings/{id}/\">API view</a> (needs the API token)</p>\n\
         </body>\n</html>\n",
        id = f.id,
        title = escape(&f.title),
        severity = escape(&f.severity),
        description = escape(&f.description),
        notes = notes.concat(),
    )
}

/// Text into HTML: what a tester typed must never become markup.
fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<b a='1'>&\"</b>"),
            "&lt;b a=&#39;1&#39;&gt;&amp;&quot;&lt;/b&gt;"
        );
    }
}
