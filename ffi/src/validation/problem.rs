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

/// 422 with every failure in `errors`.
pub(crate) fn unprocessable(failures: &[Failure]) -> Response<Body> {
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
    let text = serde_json::to_vec(&problem).unwrap_or_default();
    let mut response = Response::new(body::full(text));
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}
