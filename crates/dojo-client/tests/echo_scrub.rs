//! A DefectDojo (or a proxy in front of it) that echoes the request's
//! Authorization header into its error body, over real HTTP: no DojoError
//! built from its answers carries the token, whatever the status.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use dojo_client::{DojoClient, DojoConfig};
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";

/// Answers every request with `status` and the request head (headers
/// included) in a JSON body, plus a non-JSON variant for 502.
async fn echo_server(status: u16) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).into_owned();
                let body = if status == 502 {
                    format!("proxy error; request was:\n{head}")
                } else {
                    serde_json::json!({ "detail": head, "message": head }).to_string()
                };
                let resp = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    url
}

#[tokio::test]
async fn echoed_authorization_headers_never_reach_an_error() {
    for status in [400, 409, 422, 500, 502, 503] {
        let url = echo_server(status).await;
        let client = DojoClient::new(DojoConfig::new(
            url::Url::parse(&url).unwrap(),
            SecretString::from(TOKEN),
        ))
        .unwrap();
        let err = client
            .ensure_product_type("WSTG")
            .await
            .expect_err("the server only fails");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(TOKEN), "HTTP {status}: {shown}");
        assert!(
            shown.contains("[REDACTED]"),
            "HTTP {status}: the echo reached the error scrubbed: {shown}"
        );
    }
}
