//! DRF `LimitOffsetPagination` with `PAGE_SIZE = 25` and no `max_limit`
//! (settings.dist.py:715-716, docs/defectdojo.md §3, LIVE 96-99).

use serde_json::{Map, Value};

use super::query::Query;

pub const DEFAULT_LIMIT: usize = 25;

/// The request as DRF sees it for link building: `request.build_absolute_uri()` is
/// `<scheme>://<Host header><path>?<query>`.
#[derive(Clone, Debug)]
pub struct RequestUrl {
    /// `http://host:port/api/v2/findings/` (no query).
    pub absolute_path: String,
    pub query: Query,
}

impl RequestUrl {
    fn with_query(&self, query: &Query) -> String {
        let encoded = query.encode_sorted();
        if encoded.is_empty() {
            self.absolute_path.clone()
        } else {
            format!("{}?{}", self.absolute_path, encoded)
        }
    }
}

/// DRF `_positive_int`: Python `int()`, negative rejected, zero rejected when `strict`.
fn positive_int(raw: &str, strict: bool) -> Option<usize> {
    let n: i64 = raw.trim().parse().ok()?;
    if n < 0 || (strict && n == 0) {
        return None;
    }
    usize::try_from(n).ok()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitOffset {
    pub limit: usize,
    pub offset: usize,
}

impl LimitOffset {
    /// Invalid `limit` falls back to the page size and invalid `offset` to 0, silently.
    pub fn from_query(query: &Query) -> Self {
        let limit = query
            .get("limit")
            .and_then(|raw| positive_int(raw, true))
            .unwrap_or(DEFAULT_LIMIT);
        let offset = query
            .get("offset")
            .and_then(|raw| positive_int(raw, false))
            .unwrap_or(0);
        Self { limit, offset }
    }
}

/// One page plus the body fields DRF's `get_paginated_response` renders.
pub struct Page<T> {
    pub count: usize,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
}

impl<T> Page<T> {
    /// `{count, next, previous, results}` with `results` already rendered.
    pub fn into_body(self, render: impl FnMut(T) -> Value) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("count".into(), Value::from(self.count));
        body.insert("next".into(), self.next.map_or(Value::Null, Value::from));
        body.insert(
            "previous".into(),
            self.previous.map_or(Value::Null, Value::from),
        );
        body.insert(
            "results".into(),
            Value::Array(self.results.into_iter().map(render).collect()),
        );
        body
    }
}

/// Slices `items` (already filtered and ordered) and builds absolute `next`/`previous` links.
pub fn paginate<T>(items: Vec<T>, url: &RequestUrl) -> Page<T> {
    let LimitOffset { limit, offset } = LimitOffset::from_query(&url.query);
    let count = items.len();

    let next = (offset + limit < count).then(|| {
        let q = url
            .query
            .with_param("limit", &limit.to_string())
            .with_param("offset", &(offset + limit).to_string());
        url.with_query(&q)
    });

    let previous = (offset > 0).then(|| {
        let q = url.query.with_param("limit", &limit.to_string());
        let q = if offset <= limit {
            q.without_param("offset")
        } else {
            q.with_param("offset", &(offset - limit).to_string())
        };
        url.with_query(&q)
    });

    let results = if count == 0 || offset > count {
        Vec::new()
    } else {
        items.into_iter().skip(offset).take(limit).collect()
    };

    Page {
        count,
        next,
        previous,
        results,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(q: &str) -> RequestUrl {
        RequestUrl {
            absolute_path: "http://dd/api/v2/findings/".into(),
            query: Query::parse(q),
        }
    }

    #[test]
    fn first_page_links() {
        // LIVE 96
        let page = paginate((1..=9).collect(), &url("test=1&limit=2&o=id"));
        assert_eq!(page.results, vec![1, 2]);
        assert_eq!(
            page.next.as_deref(),
            Some("http://dd/api/v2/findings/?limit=2&o=id&offset=2&test=1")
        );
        assert_eq!(page.previous, None);
    }

    #[test]
    fn second_page_links() {
        // LIVE 97: previous drops offset when it would be 0
        let page = paginate((1..=9).collect(), &url("test=1&limit=2&offset=2&o=id"));
        assert_eq!(page.results, vec![3, 4]);
        assert_eq!(
            page.next.as_deref(),
            Some("http://dd/api/v2/findings/?limit=2&o=id&offset=4&test=1")
        );
        assert_eq!(
            page.previous.as_deref(),
            Some("http://dd/api/v2/findings/?limit=2&o=id&test=1")
        );
    }

    #[test]
    fn defaults_and_bad_values() {
        let page = paginate((1..=30).collect(), &url("limit=0&offset=-3"));
        assert_eq!(page.results.len(), DEFAULT_LIMIT);
        assert_eq!(
            page.next.as_deref(),
            Some("http://dd/api/v2/findings/?limit=25&offset=25")
        );
        let page = paginate((1..=30).collect(), &url("limit=100000"));
        assert_eq!(page.results.len(), 30);
        assert_eq!(page.next, None);
        let page = paginate((1..=30).collect(), &url("limit=10&offset=25"));
        assert_eq!(
            page.previous.as_deref(),
            Some("http://dd/api/v2/findings/?limit=10&offset=15")
        );
        let page: Page<i32> = paginate((1..=3).collect(), &url("offset=10"));
        assert!(page.results.is_empty());
    }
}
