//! Query strings the way Django reads them and DRF rewrites them.

/// A decoded query string, keeping every `key=value` pair in order (`?tags=a&tags=b` keeps both).
#[derive(Clone, Debug, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// `application/x-www-form-urlencoded` decoding (`+` is a space), like `QueryDict`.
    pub fn parse(query_string: &str) -> Self {
        let pairs = url::form_urlencoded::parse(query_string.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Self { pairs }
    }

    /// `QueryDict.get(key)`: the *last* value. LIVE 82 (`?tags=a&tags=b` filters on `b` only).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `QueryDict.get(key)` treating an empty value as absent, as django-filter does.
    pub fn get_nonempty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }

    /// `QueryDict.getlist(key)`.
    pub fn get_all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// DRF `replace_query_param`: `parse_qs` + set the key + `urlencode(sorted(...), doseq=True)`.
    /// The result is sorted by key, which is why recorded `next` links read
    /// `?limit=3&o=-last_status_update&offset=3&test=1` (LIVE 91).
    pub fn with_param(&self, key: &str, value: &str) -> Query {
        let mut pairs: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|(k, _)| k != key)
            .cloned()
            .collect();
        pairs.push((key.to_string(), value.to_string()));
        Query { pairs }
    }

    /// DRF `remove_query_param`.
    pub fn without_param(&self, key: &str) -> Query {
        Query {
            pairs: self
                .pairs
                .iter()
                .filter(|(k, _)| k != key)
                .cloned()
                .collect(),
        }
    }

    /// `urllib.parse.urlencode(sorted(parse_qs(q).items()), doseq=True)`: stable sort by key,
    /// values of one key keep their order.
    pub fn encode_sorted(&self) -> String {
        let mut keys: Vec<&str> = Vec::new();
        for (k, _) in &self.pairs {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
        keys.sort_unstable();
        keys.iter()
            .flat_map(|key| {
                self.pairs
                    .iter()
                    .filter(move |(k, _)| k == key)
                    .map(|(k, v)| format!("{}={}", quote_plus(k), quote_plus(v)))
            })
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Python's `urllib.parse.quote_plus` (safe set: ASCII alphanumerics and `_.-~`).
pub fn quote_plus(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_value_wins() {
        let q = Query::parse("tags=wstg-info-02&tags=wstg-info-03");
        assert_eq!(q.get("tags"), Some("wstg-info-03"));
        assert_eq!(q.get_all("tags"), vec!["wstg-info-02", "wstg-info-03"]);
    }

    #[test]
    fn rewrites_like_drf() {
        let q = Query::parse("test=1&o=-last_status_update&limit=3");
        let next = q.with_param("limit", "3").with_param("offset", "3");
        assert_eq!(
            next.encode_sorted(),
            "limit=3&o=-last_status_update&offset=3&test=1"
        );
        let q = Query::parse("tags=wstg-info-02%2Cwstg-info-03&name=Pen+Test");
        assert_eq!(
            q.encode_sorted(),
            "name=Pen+Test&tags=wstg-info-02%2Cwstg-info-03"
        );
    }

    #[test]
    fn quote_plus_matches_python() {
        assert_eq!(
            quote_plus("2026-11-22T06:17:33.806564Z"),
            "2026-11-22T06%3A17%3A33.806564Z"
        );
        assert_eq!(quote_plus("a b~*"), "a+b~%2A");
    }
}
