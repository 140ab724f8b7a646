//! A local webhook receiver for the alert tests: a real HTTP server (actix-web)
//! that records every JSON body posted to `/hook/<secret>` and answers with
//! the statuses it was told to, then 200.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpResponse, HttpServer};
use serde_json::Value;

#[derive(Default)]
struct Shared {
    bodies: Vec<Value>,
    /// Statuses to answer before the next 200s.
    script: VecDeque<u16>,
    /// Requests seen, accepted or not.
    requests: usize,
}

pub struct Receiver {
    /// The URL to post to, `http://127.0.0.1:<port>/hook/<secret>`.
    pub url: String,
    /// The random path segment: a stand-in for the credential a Slack
    /// webhook URL carries (tests look for it in logs and errors).
    pub secret: String,
    pub base: String,
    shared: Arc<Mutex<Shared>>,
    handle: actix_web::dev::ServerHandle,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let secret = format!("T0-B0-{}", uuid::Uuid::new_v4().simple());
        let data = web::Data::new(shared.clone());
        let redirect_to = secret.clone();
        let server = HttpServer::new(move || {
            let redirect_to = redirect_to.clone();
            App::new()
                .app_data(data.clone())
                .app_data(web::JsonConfig::default().limit(64 * 1024))
                .route("/hook/{secret}", web::post().to(hook))
                // A redirect to the hook on another host name: must not be followed.
                .route(
                    "/moved",
                    web::post().to(move || {
                        let to = format!("http://localhost.invalid/hook/{redirect_to}");
                        async move {
                            HttpResponse::TemporaryRedirect()
                                .insert_header(("Location", to))
                                .finish()
                        }
                    }),
                )
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("bind the receiver");
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        let base = format!("http://127.0.0.1:{port}");
        Receiver {
            url: format!("{base}/hook/{secret}"),
            secret,
            base,
            shared,
            handle,
        }
    }

    /// Every body accepted (answered 200), in arrival order.
    pub fn bodies(&self) -> Vec<Value> {
        self.shared.lock().unwrap().bodies.clone()
    }

    /// Requests seen, accepted or not.
    pub fn requests(&self) -> usize {
        self.shared.lock().unwrap().requests
    }

    /// Answers the next requests with these statuses (then 200 again);
    /// 0 hangs for 30 s (a receiver that does not answer).
    pub fn answer_next(&self, statuses: &[u16]) {
        self.shared.lock().unwrap().script.extend(statuses);
    }

    /// Accepted bodies whose `rule` and `state` match (JSON kind).
    pub fn count(&self, rule: &str, state: &str) -> usize {
        self.bodies()
            .iter()
            .filter(|b| b["rule"] == rule && b["state"] == state)
            .count()
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

async fn hook(shared: web::Data<Arc<Mutex<Shared>>>, body: web::Json<Value>) -> HttpResponse {
    let scripted = {
        let mut s = shared.lock().unwrap();
        s.requests += 1;
        s.script.pop_front()
    };
    match scripted {
        // 0: hang past any client timeout, then record nothing.
        Some(0) => {
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            HttpResponse::GatewayTimeout().finish()
        }
        Some(status) => {
            let status = actix_web::http::StatusCode::from_u16(status).unwrap();
            HttpResponse::build(status).body("scripted failure")
        }
        None => {
            shared.lock().unwrap().bodies.push(body.into_inner());
            HttpResponse::Ok().body("ok")
        }
    }
}
