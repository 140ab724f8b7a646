//! Delivery against a real local receiver: retries on 5xx and timeouts, no
//! retry on a 4xx, redirects never followed, the URL in no error.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use secrecy::SecretString;
use test_support::receiver::Receiver;
use wstg_alerts::{DeliveryError, Notice, Webhook};
use wstg_settings::AlertKind;

fn webhook(url: &str, kind: AlertKind, timeout_ms: u64, retries: u32) -> Webhook {
    Webhook::new(
        SecretString::from(url.to_owned()),
        kind,
        Duration::from_millis(timeout_ms),
        retries,
    )
    .unwrap()
    .with_min_backoff(Duration::from_millis(10))
}

#[tokio::test]
async fn a_slack_body_is_delivered_once() {
    let rx = Receiver::start().await;
    let d = webhook(&rx.url, AlertKind::Slack, 2000, 3)
        .send(&Notice::test("wstg"))
        .await
        .unwrap();
    assert_eq!((d.status, d.attempts), (200, 1));
    let bodies = rx.bodies();
    assert_eq!(bodies.len(), 1);
    let text = bodies[0]["text"].as_str().unwrap();
    assert!(text.contains("*TEST*") && text.contains("`wstg`"), "{text}");
    rx.stop().await;
}

#[tokio::test]
async fn server_errors_and_timeouts_are_retried_with_backoff() {
    let rx = Receiver::start().await;
    rx.answer_next(&[503, 0, 429]);
    let d = webhook(&rx.url, AlertKind::Json, 500, 3)
        .send(&Notice::test("wstg"))
        .await
        .unwrap();
    assert_eq!(d.attempts, 4);
    assert_eq!(rx.requests(), 4);
    assert_eq!(rx.bodies().len(), 1);
    assert_eq!(rx.bodies()[0]["state"], "test");

    // Retries run out: the error says so, with the last status.
    rx.answer_next(&[500, 500]);
    let e = webhook(&rx.url, AlertKind::Json, 500, 1)
        .send(&Notice::test("wstg"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            DeliveryError::Unavailable {
                attempts: 2,
                status: Some(500),
                ..
            }
        ),
        "{e:?}"
    );
    rx.stop().await;
}

#[tokio::test]
async fn a_client_error_is_not_retried_and_the_url_is_never_in_the_error() {
    let rx = Receiver::start().await;
    rx.answer_next(&[404]);
    let e = webhook(&rx.url, AlertKind::Json, 2000, 3)
        .send(&Notice::test("wstg"))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404));
    assert_eq!(rx.requests(), 1, "a 4xx is not retried");
    assert!(!e.to_string().contains(&rx.secret), "{e}");

    // Nothing listens there: the error names no URL either.
    let port = test_support::process::free_port();
    let closed = format!("http://127.0.0.1:{port}/hook/{}", rx.secret);
    let e = webhook(&closed, AlertKind::Json, 500, 1)
        .send(&Notice::test("wstg"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, DeliveryError::Unavailable { attempts: 2, .. }),
        "{e:?}"
    );
    assert!(!format!("{e} {e:?}").contains(&rx.secret), "{e:?}");
    rx.stop().await;
}

#[tokio::test]
async fn a_redirect_is_reported_not_followed() {
    let rx = Receiver::start().await;
    let e = webhook(&format!("{}/moved", rx.base), AlertKind::Json, 2000, 3)
        .send(&Notice::test("wstg"))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(307), "{e}");
    assert!(e.to_string().contains("not followed"), "{e}");
    assert_eq!(rx.bodies().len(), 0);
    rx.stop().await;
}
