//! The ingest benchmark's baseline: a bare actix-web handler that appends
//! the request body to a Redis stream with one XADD through the multiplexed
//! ConnectionManager, and answers 202. wstg-ingest does that plus parsing,
//! validation and the envelope; the ratio of the two is the cost of ours.

#![allow(clippy::unwrap_used)]

use actix_web::{web, App, HttpResponse, HttpServer};
use clap::Parser;
use redis::aio::ConnectionManager;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:18089")]
    addr: String,
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis: String,
    #[arg(long, default_value = "wstgbench:bare:events")]
    stream: String,
}

struct State {
    conn: ConnectionManager,
    stream: String,
}

async fn handler(body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    let mut conn = state.conn.clone();
    let r: Result<String, _> = redis::cmd("XADD")
        .arg(&state.stream)
        .arg("*")
        .arg("data")
        .arg(body.as_ref())
        .query_async(&mut conn)
        .await;
    match r {
        Ok(id) => {
            HttpResponse::Accepted().json(serde_json::json!({"success": true, "event_id": id}))
        }
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let conn = ConnectionManager::new(redis::Client::open(args.redis.as_str())?).await?;
    let state = web::Data::new(State {
        conn,
        stream: args.stream,
    });
    println!("bare-xadd listening on http://{}", args.addr);
    HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/api/wstg/sync", web::post().to(handler))
    })
    .bind(&args.addr)?
    .run()
    .await?;
    Ok(())
}
