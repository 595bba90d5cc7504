//! Const routes: answers TypeScript computed once at start-up, served by
//! Rust on every request without a crossing.

use std::collections::HashMap;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Response, StatusCode};

use crate::body::{full, Body};
use crate::config::RouteConfig;
use crate::response::is_connection_header;

/// One precomputed answer.
pub(crate) struct Constant {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Constant {
    /// A fresh response; the body bytes are shared, not copied.
    pub(crate) fn response(&self) -> Response<Body> {
        let mut response = Response::new(full(self.body.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        response
    }
}

/// Const answers by route id.
#[derive(Default)]
pub(crate) struct Constants {
    by_route: HashMap<u32, Constant>,
}

impl Constants {
    /// Collects the const routes of a route table, checking their headers.
    /// Headers hyper owns (`response::CONNECTION_HEADERS`) are dropped, as
    /// on the dynamic path, with a note at start-up: a handler's
    /// `content-length` that disagreed with the body would desync every
    /// keep-alive connection the route answers on.
    pub(crate) fn from_routes(routes: &[RouteConfig]) -> Result<Constants, String> {
        let mut by_route = HashMap::new();
        for route in routes {
            let Some(answer) = &route.constant else {
                continue;
            };
            let status = StatusCode::from_u16(answer.status)
                .map_err(|_| format!("const route {}: bad status {}", route.path, answer.status))?;
            let mut headers = HeaderMap::new();
            for (name, value) in &answer.headers {
                let name = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| format!("const route {}: bad header name {name:?}", route.path))?;
                let value = HeaderValue::from_str(value).map_err(|_| {
                    format!("const route {}: bad header value {value:?}", route.path)
                })?;
                if is_connection_header(&name) {
                    eprintln!(
                        "ferry: const route {}: dropped the {name} header (Ferry frames answers itself)",
                        route.path
                    );
                    continue;
                }
                headers.append(name, value);
            }
            let body = Bytes::from(answer.body.clone());
            by_route.insert(
                route.id,
                Constant {
                    status,
                    headers,
                    body,
                },
            );
        }
        Ok(Constants { by_route })
    }

    /// The const answer of `route`, if it is a const route.
    pub(crate) fn get(&self, route: &u32) -> Option<&Constant> {
        if self.by_route.is_empty() {
            return None;
        }
        self.by_route.get(route)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConstAnswer;

    #[test]
    fn const_answers_drop_the_headers_dynamic_answers_drop() {
        let headers = [
            ("content-length", "5"),
            ("transfer-encoding", "chunked"),
            ("connection", "close"),
            ("x-kept", "1"),
        ];
        let route = RouteConfig {
            method: "GET".into(),
            path: "/c".into(),
            id: 7,
            constant: Some(ConstAnswer {
                status: 200,
                headers: headers
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
                body: "héllo".as_bytes().to_vec(),
            }),
            schema: None,
            body_limit: None,
            websocket: None,
        };
        let constants = Constants::from_routes(&[route]).unwrap();
        let response = constants.get(&7).unwrap().response();
        let names: Vec<_> = response.headers().keys().map(|n| n.as_str()).collect();
        assert_eq!(names, ["x-kept"]);
    }
}
