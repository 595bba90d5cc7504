//! Method-aware routing on top of matchit.
//!
//! Patterns use Ferry's syntax (`/users/:id`, `/files/*path`) and are
//! translated to matchit's (`/users/{id}`, `/files/{*path}`). Paths match
//! exactly: `/a/` and `/a` are different routes (the trailing-slash policy
//! is strict, as in matchit and Hono's default).

use std::collections::BTreeMap;

use percent_encoding::percent_decode_str;

/// Method key for routes that answer every method.
pub(crate) const ANY: &str = "*";

/// One path's handlers: method name (or `ANY`) → route id.
#[derive(Default)]
struct Endpoint {
    by_method: BTreeMap<String, u32>,
}

/// What routing decided for a request.
#[derive(Debug, PartialEq)]
pub(crate) enum Routed {
    /// A handler: route id and percent-decoded parameter values, in pattern order.
    Found(u32, Vec<String>),
    /// The path exists but not for this method; the value is the `Allow` list.
    MethodNotAllowed(String),
    /// Nothing matches the path.
    NotFound,
    /// A parameter is not valid percent-encoded UTF-8.
    BadParam,
}

/// The route table.
#[derive(Default)]
pub(crate) struct Router {
    tree: matchit::Router<usize>,
    endpoints: Vec<Endpoint>,
    by_pattern: BTreeMap<String, usize>,
}

/// Translates `/users/:id/*rest` into matchit's `/users/{p0}/{*p1}`.
/// Parameters get positional names: TypeScript maps values to names per
/// route, and `GET /users/:id` may share a tree node with
/// `DELETE /users/:name`, which matchit would refuse under two names.
pub(crate) fn to_matchit(pattern: &str) -> Result<String, String> {
    if !pattern.starts_with('/') {
        return Err(format!("route pattern \"{pattern}\" must start with \"/\""));
    }
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut param = 0;
    for (i, segment) in pattern.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if segment.starts_with(':') {
            out.push_str(&format!("{{p{param}}}"));
            param += 1;
        } else if segment.starts_with('*') {
            out.push_str(&format!("{{*p{param}}}"));
            param += 1;
        } else {
            // matchit reserves braces; escape literal ones.
            out.push_str(&segment.replace('{', "{{").replace('}', "}}"));
        }
    }
    Ok(out)
}

impl Router {
    /// Adds a route; `method` is an upper-case method name or `ANY`.
    pub(crate) fn add(&mut self, method: &str, pattern: &str, id: u32) -> Result<(), String> {
        let translated = to_matchit(pattern)?;
        let index = match self.by_pattern.get(&translated) {
            Some(index) => *index,
            None => {
                let index = self.endpoints.len();
                self.tree
                    .insert(translated.clone(), index)
                    .map_err(|e| format!("route \"{pattern}\": {e}"))?;
                self.endpoints.push(Endpoint::default());
                self.by_pattern.insert(translated, index);
                index
            }
        };
        let endpoint = &mut self.endpoints[index];
        if endpoint.by_method.insert(method.to_string(), id).is_some() {
            return Err(format!("route {method} \"{pattern}\" is registered twice"));
        }
        Ok(())
    }

    /// Routes a raw (percent-encoded) path.
    pub(crate) fn find(&self, method: &str, path: &str) -> Routed {
        let Ok(matched) = self.tree.at(path) else {
            return Routed::NotFound;
        };
        let endpoint = &self.endpoints[*matched.value];
        let id = endpoint
            .by_method
            .get(method)
            .or_else(|| {
                if method == "HEAD" {
                    endpoint.by_method.get("GET")
                } else {
                    None
                }
            })
            .or_else(|| endpoint.by_method.get(ANY));
        let Some(id) = id else {
            return Routed::MethodNotAllowed(allow(endpoint));
        };
        let mut params = Vec::with_capacity(matched.params.len());
        for (_, raw) in matched.params.iter() {
            if !well_formed(raw) {
                return Routed::BadParam;
            }
            match percent_decode_str(raw).decode_utf8() {
                Ok(value) => params.push(value.into_owned()),
                Err(_) => return Routed::BadParam,
            }
        }
        Routed::Found(*id, params)
    }
}

/// Whether every `%` is followed by two hex digits (percent_decode_str would
/// pass a malformed escape through as text).
fn well_formed(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

fn allow(endpoint: &Endpoint) -> String {
    let mut methods: Vec<&str> = endpoint.by_method.keys().map(String::as_str).collect();
    if methods.contains(&"GET") && !methods.contains(&"HEAD") {
        methods.push("HEAD");
    }
    if !methods.contains(&"OPTIONS") {
        methods.push("OPTIONS");
    }
    methods.sort_unstable();
    methods.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> Router {
        let mut r = Router::default();
        r.add("GET", "/", 0).unwrap();
        r.add("GET", "/users/:id", 1).unwrap();
        r.add("DELETE", "/users/:name", 2).unwrap();
        r.add("GET", "/files/*path", 3).unwrap();
        r.add(ANY, "/any", 4).unwrap();
        r
    }

    #[test]
    fn finds_params_and_wildcards_decoded() {
        let r = router();
        assert_eq!(
            r.find("GET", "/users/a%20b"),
            Routed::Found(1, vec!["a b".into()])
        );
        assert_eq!(
            r.find("DELETE", "/users/7"),
            Routed::Found(2, vec!["7".into()])
        );
        assert_eq!(
            r.find("GET", "/files/a/b.txt"),
            Routed::Found(3, vec!["a/b.txt".into()])
        );
        assert_eq!(r.find("PATCH", "/any"), Routed::Found(4, vec![]));
    }

    #[test]
    fn head_falls_back_to_get_and_405_lists_allow() {
        let r = router();
        assert_eq!(r.find("HEAD", "/"), Routed::Found(0, vec![]));
        assert_eq!(
            r.find("POST", "/users/1"),
            Routed::MethodNotAllowed("DELETE, GET, HEAD, OPTIONS".into())
        );
    }

    #[test]
    fn strict_trailing_slash_and_not_found() {
        let r = router();
        assert_eq!(r.find("GET", "/users/1/"), Routed::NotFound);
        assert_eq!(r.find("GET", "/nope"), Routed::NotFound);
    }

    #[test]
    fn invalid_utf8_param_is_refused() {
        assert_eq!(router().find("GET", "/users/%FF"), Routed::BadParam);
        assert_eq!(router().find("GET", "/users/%ZZ"), Routed::BadParam);
        assert_eq!(router().find("GET", "/users/a%2"), Routed::BadParam);
    }

    #[test]
    fn duplicate_and_bad_patterns_are_errors() {
        let mut r = router();
        assert!(r.add("GET", "/", 9).unwrap_err().contains("twice"));
        assert!(r.add("GET", "nope", 9).unwrap_err().contains("must start"));
    }
}
