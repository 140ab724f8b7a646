//! What every DefectDojo call records: its duration, by operation and
//! answer. The `metrics` facade is a no-op until a service installs a
//! recorder (crates/ops), so `wstgctl` and the tests pay nothing.

/// Histogram, seconds; labels `operation` and `status`.
pub const REQUEST_DURATION: &str = "wstg_dojo_request_duration_seconds";

/// The `status` label of a call that got no answer (timeout, refused or
/// reset connection).
pub const NO_ANSWER: &str = "none";

/// The low-cardinality name of a request: its method and its path below
/// `api/v2/` with every id replaced, e.g. `PATCH findings/{id}/` or
/// `POST findings/{id}/close/`. Never an id, a query or a URL: the label's
/// values are bounded by the API paths this client calls (a path segment
/// that is not a plain lowercase word becomes `{x}`, and at most four
/// segments are kept), whatever a pagination link from DefectDojo says.
pub fn operation(method: &str, api_path: &str) -> String {
    let mut out = String::with_capacity(32);
    out.push_str(method);
    out.push(' ');
    for segment in api_path.split('/').filter(|s| !s.is_empty()).take(4) {
        if segment.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str("{id}");
        } else if segment.len() <= 40
            && segment.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        {
            out.push_str(segment);
        } else {
            out.push_str("{x}");
        }
        out.push('/');
    }
    out
}

/// Records one call.
pub(crate) fn record(operation: String, status: Option<u16>, elapsed: std::time::Duration) {
    let status = status.map_or_else(|| NO_ANSWER.to_owned(), |s| s.to_string());
    metrics::histogram!(REQUEST_DURATION, "operation" => operation, "status" => status)
        .record(elapsed.as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::operation;

    #[test]
    fn ids_and_odd_segments_never_reach_the_label() {
        assert_eq!(operation("PATCH", "findings/123/"), "PATCH findings/{id}/");
        assert_eq!(
            operation("POST", "findings/7/close/"),
            "POST findings/{id}/close/"
        );
        assert_eq!(operation("GET", "findings/"), "GET findings/");
        assert_eq!(operation("GET", "x/Y%20z/../a/b/c/d"), "GET x/{x}/{x}/a/");
    }
}
