//! The HTTP API's contract (issue 10, item 6): the OpenAPI document served
//! at /api/openapi.json is the one committed in docs/openapi.json; unknown
//! routes and wrong methods answer in the API's JSON error shape; every
//! answer carries an `X-Request-Id`, the client's own when well-formed.
//!
//! `WSTG_UPDATE_OPENAPI=1 cargo test --test api_contract` rewrites
//! docs/openapi.json from the served document (then review the diff).

mod common;

use common::System;
use serde_json::Value;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json");

fn request_id(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("x-request-id")
        .expect("every answer has an X-Request-Id")
        .to_str()
        .expect("ascii")
        .to_owned()
}

async fn json_error(resp: reqwest::Response, status: u16) -> (Value, String) {
    assert_eq!(resp.status().as_u16(), status);
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let id = request_id(&resp);
    let body: Value = resp.json().await.expect("a JSON body");
    assert_eq!(body["success"], false, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    assert_eq!(
        body["request_id"],
        id.as_str(),
        "the body names the answer's id"
    );
    (body, id)
}

#[tokio::test]
async fn the_served_document_is_openapi_3_1_and_equals_the_committed_copy() {
    let sys = System::start(test_support::fresh_sqlite(), 0).await;
    // Without a token: the document holds no secret (docs/security.md).
    let resp = reqwest::get(format!("{}/api/openapi.json", sys.ingest_url))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let served = resp.text().await.unwrap();
    let doc: Value = serde_json::from_str(&served).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/healthz",
        "/readyz",
        "/api/openapi.json",
        "/api/wstg/webhook",
        "/api/wstg/sync",
        "/api/wstg/status",
        "/api/wstg/items/{wstg_id}",
        "/api/wstg/admin/dlq",
        "/api/wstg/admin/projects",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["webhook_key"]["in"], "header");
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());

    if std::env::var_os("WSTG_UPDATE_OPENAPI").is_some() {
        std::fs::write(COMMITTED, format!("{served}\n")).unwrap();
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed.trim_end() == served.trim_end(),
        "the API changed: docs/openapi.json differs from what the ingest serves. Review the \
         change, then rewrite it with `WSTG_UPDATE_OPENAPI=1 cargo test --test api_contract`"
    );
}

#[tokio::test]
async fn an_unknown_route_is_a_json_404() {
    let sys = System::start(test_support::fresh_sqlite(), 0).await;
    for path in ["/nope", "/api/nope", "/api/wstg/nope"] {
        let resp = sys
            .http
            .get(format!("{}{path}", sys.ingest_url))
            .send()
            .await
            .unwrap();
        let (body, _) = json_error(resp, 404).await;
        assert!(body["error"].as_str().unwrap().contains(path), "{body}");
    }
}

#[tokio::test]
async fn a_wrong_method_is_a_json_405_with_allow() {
    let sys = System::start(test_support::fresh_sqlite(), 0).await;
    let cases = [
        (reqwest::Method::GET, "/api/wstg/sync", "POST"),
        (reqwest::Method::POST, "/healthz", "GET"),
        (reqwest::Method::PUT, "/api/wstg/admin/dlq", "GET, DELETE"),
        (reqwest::Method::GET, "/api/wstg/webhook", "POST"),
    ];
    for (method, path, allow) in cases {
        let resp = sys
            .http
            .request(method.clone(), format!("{}{path}", sys.ingest_url))
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap();
        let header = resp
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(header.as_deref(), Some(allow), "{method} {path}");
        let (body, _) = json_error(resp, 405).await;
        assert_eq!(body["field"], "method", "{body}");
        let allowed: Vec<&str> = body["allowed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        assert_eq!(allowed.join(", "), allow, "{body}");
    }
}

#[tokio::test]
async fn every_answer_has_a_request_id_generated_or_echoed_within_bounds() {
    let sys = System::start(test_support::fresh_sqlite(), 0).await;
    let healthz = format!("{}/healthz", sys.ingest_url);
    let get = |id: Option<String>| {
        let mut req = sys.http.get(&healthz);
        if let Some(id) = id {
            req = req.header("x-request-id", id);
        }
        req.send()
    };

    // None sent: a fresh UUID each time.
    let a = request_id(&get(None).await.unwrap());
    let b = request_id(&get(None).await.unwrap());
    assert!(uuid::Uuid::parse_str(&a).is_ok(), "{a}");
    assert_ne!(a, b);

    // A well-formed one is echoed, the longest allowed too.
    for ok in ["client-42".to_owned(), "a".repeat(128)] {
        assert_eq!(request_id(&get(Some(ok.clone())).await.unwrap()), ok);
    }
    // Over-long or malformed: replaced, never echoed.
    for bad in ["a".repeat(129), "two words".to_owned(), "x;y<z>".to_owned()] {
        let got = request_id(&get(Some(bad.clone())).await.unwrap());
        assert_ne!(got, bad);
        assert!(uuid::Uuid::parse_str(&got).is_ok(), "{got}");
    }

    // On errors of every layer: the guard's 401, a handler's 400.
    let resp = reqwest::Client::new()
        .get(format!("{}/api/wstg/status", sys.ingest_url))
        .header("x-request-id", "unauth-1")
        .send()
        .await
        .unwrap();
    let (_, id) = json_error(resp, 401).await;
    assert_eq!(id, "unauth-1");
    let resp = sys
        .http
        .post(format!("{}/api/wstg/sync", sys.ingest_url))
        .header("content-type", "application/json")
        .header("x-request-id", "bad-body-1")
        .body("{")
        .send()
        .await
        .unwrap();
    let (body, id) = json_error(resp, 400).await;
    assert_eq!(
        (id.as_str(), &body["field"]),
        ("bad-body-1", &Value::from("body"))
    );
}

#[tokio::test]
async fn a_bad_query_is_a_400_naming_it() {
    let sys = System::start(test_support::fresh_sqlite(), 0).await;
    let resp = sys
        .http
        .get(format!(
            "{}/api/wstg/items?project=a&project=b",
            sys.ingest_url
        ))
        .send()
        .await
        .unwrap();
    let (body, _) = json_error(resp, 400).await;
    assert_eq!(body["field"], "query", "{body}");
}

/// Found by the fuzz run (`make test-api`): a dead-letter id whose parts
/// do not fit Redis' u64 was passed on to Redis, whose refusal was a 500.
#[tokio::test]
async fn a_dead_letter_id_beyond_redis_range_is_a_4xx_not_a_500() {
    let admin = "api-contract-admin-token";
    let sys = System::start_with(
        test_support::fresh_sqlite(),
        0,
        &[("WSTG_INGEST_ADMIN_TOKEN", admin)],
    )
    .await;
    let http = reqwest::Client::new();
    let huge = "7732-578120657617504785040";
    let resp = http
        .get(format!(
            "{}/api/wstg/admin/dlq?after={huge}",
            sys.ingest_url
        ))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap();
    let (body, _) = json_error(resp, 400).await;
    assert_eq!(body["field"], "after", "{body}");
    let resp = http
        .get(format!("{}/api/wstg/admin/dlq/{huge}", sys.ingest_url))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap();
    json_error(resp, 404).await;
    let resp = http
        .post(format!(
            "{}/api/wstg/admin/dlq/{huge}/replay",
            sys.ingest_url
        ))
        .bearer_auth(admin)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    json_error(resp, 404).await;
}
