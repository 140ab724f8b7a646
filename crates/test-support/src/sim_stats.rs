//! Reading the DefectDojo emulator's `/__sim/stats`.

use serde_json::Value;

/// `GET /__sim/stats` of the emulator at `base_url`.
pub async fn fetch(http: &reqwest::Client, base_url: &str) -> Value {
    http.get(format!("{base_url}/__sim/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Finding list requests (`GET /api/v2/findings/`, not one finding): one
/// per poll pass.
pub fn list_requests(stats: &Value) -> u64 {
    stats["by_route"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| k.starts_with("GET /api/v2/findings/") && !k.contains("{id}"))
                .map(|(_, v)| v.as_u64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
}
