//! The answers Rust gives for a request that fails its route's schema:
//! 422 listing every error, 400 for a body that does not parse, 415 for a
//! body of a type the route does not take. All are RFC 9457 problem+json.

use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Response, StatusCode};
use serde::Serialize;

use crate::body;
use crate::response::Body;

/// Where a failing value was.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Location {
    /// A path parameter.
    Path,
    /// The query string.
    Query,
    /// A request header.
    Header,
    /// A cookie.
    Cookie,
    /// The request body.
    Body,
}

/// One failed check, as the client sees it.
#[derive(Serialize, Debug)]
pub(crate) struct Failure {
    pub(crate) location: Location,
    /// JSON Pointer into the location's value (`""` is the whole value).
    pub(crate) pointer: String,
    /// The JSON Schema keyword that failed (`type`, `required`, `format`…).
    pub(crate) keyword: String,
    pub(crate) message: String,
}

#[derive(Serialize)]
struct Problem<'a> {
    r#type: &'static str,
    title: &'static str,
    status: u16,
    detail: String,
    errors: &'a [Failure],
}

/// A request refused by its route's schemas: status and problem+json body.
/// Kept as bytes, not a `Response`, so `app.fetch` (no hyper on its path)
/// gets the very same answer through `ferry_request_check`.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) body: Vec<u8>,
}

impl Refusal {
    /// 400 or 415 with a plain problem body, as `response::problem` writes it.
    pub(crate) fn plain(status: StatusCode, detail: &str) -> Refusal {
        let body = crate::response::problem_body(status, detail);
        Refusal {
            status,
            body: body.into_bytes(),
        }
    }

    /// The answer hyper sends.
    pub(crate) fn into_response(self) -> Response<Body> {
        let mut response = Response::new(body::full(self.body));
        *response.status_mut() = self.status;
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

/// 422 with every failure in `errors`.
pub(crate) fn unprocessable(failures: &[Failure]) -> Refusal {
    let count = failures.len();
    let plural = if count == 1 { "" } else { "s" };
    let problem = Problem {
        r#type: "about:blank",
        // RFC 9110's name; `http` still says "Unprocessable Entity".
        title: "Unprocessable Content",
        status: 422,
        detail: format!("the request did not match the route's schema ({count} error{plural})"),
        errors: failures,
    };
    Refusal {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        body: serde_json::to_vec(&problem).unwrap_or_default(),
    }
}
