//! Route schemas, checked in Rust before JavaScript sees the request.
//!
//! A route registered with `schema: { params, query, headers, cookies,
//! body }` (JSON Schema 2020-12) has each part compiled once, when the
//! server starts. Per request, [`Validation::check`] turns the text parts
//! into the types the schema names (`coerce`), parses the body (JSON or a
//! form) once, fills in defaults, and validates every part. A request that
//! fails is answered here (422 listing every error, 400 for a body that
//! does not parse, 415 for a body type the route does not take) and costs
//! JavaScript nothing; one that passes carries the coerced values to
//! JavaScript as one JSON block after the body (`req::VALID_LEN`), so the
//! handler's `c.valid` never parses the query or the body again.
//! Design and decisions: docs/validation.md.

pub(crate) mod checker;
mod coerce;
pub(crate) mod fetch;
mod formats;
mod input;
mod problem;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, COOKIE};
use http::request::Parts;
use http::{Response, StatusCode};
use jsonschema::Validator;
use serde::Deserialize;
use serde_json::Value;

use crate::config::RouteConfig;
use crate::response::Body;
use problem::{unprocessable, Failure, Location, Refusal};

/// A route's schemas as TypeScript sends them (`schema` in a route's
/// configuration), plus the route's parameter names in pattern order.
#[derive(Deserialize, Debug, Clone, Default)]
pub(crate) struct SchemaConfig {
    /// Parameter names, in pattern order (values arrive in that order).
    #[serde(default)]
    names: Vec<String>,
    params: Option<Value>,
    query: Option<Value>,
    headers: Option<Value>,
    cookies: Option<Value>,
    body: Option<Value>,
}

/// One compiled part: the schema (for coercion and defaults) and its validator.
struct Part {
    schema: Value,
    validator: Validator,
    /// Whether the schema has a `default` to fill in anywhere (most have
    /// none, and walking the schema per request showed in profiles).
    defaults: bool,
}

/// A route's compiled parts.
struct RouteSchemas {
    names: Vec<String>,
    params: Option<Part>,
    query: Option<Part>,
    headers: Option<Part>,
    cookies: Option<Part>,
    body: Option<Part>,
}

/// Every route's schemas, indexed by route id.
#[derive(Default)]
pub(crate) struct Validation {
    routes: Vec<Option<Box<RouteSchemas>>>,
}

/// Compiles one part; formats are asserted (`uuid`, `date-time`, `email`…),
/// which JSON Schema 2020-12 leaves off by default.
fn compile(
    route: &RouteConfig,
    name: &str,
    schema: &Option<Value>,
) -> Result<Option<Part>, String> {
    let Some(schema) = schema else {
        return Ok(None);
    };
    let validator = formats::options().build(schema).map_err(|e| {
        format!(
            "the {name} schema of {} {} is not a valid JSON Schema: {e}",
            route.method, route.path
        )
    })?;
    Ok(Some(Part {
        schema: schema.clone(),
        validator,
        defaults: coerce::has_defaults(schema),
    }))
}

impl Validation {
    /// Compiles every route's schemas; an invalid schema names its route.
    pub(crate) fn from_routes(routes: &[RouteConfig]) -> Result<Validation, String> {
        let mut out = Validation::default();
        for route in routes {
            let Some(config) = &route.schema else {
                continue;
            };
            let compiled = RouteSchemas {
                names: config.names.clone(),
                params: compile(route, "params", &config.params)?,
                query: compile(route, "query", &config.query)?,
                headers: compile(route, "headers", &config.headers)?,
                cookies: compile(route, "cookies", &config.cookies)?,
                body: compile(route, "body", &config.body)?,
            };
            let id = route.id as usize;
            if out.routes.len() <= id {
                out.routes.resize_with(id + 1, || None);
            }
            out.routes[id] = Some(Box::new(compiled));
        }
        Ok(out)
    }

    /// Whether route `route` has a body schema: its body is read whole
    /// before it is checked, never streamed (`dispatch::start_body`).
    pub(crate) fn reads_body(&self, route: u32) -> bool {
        matches!(self.routes.get(route as usize), Some(Some(s)) if s.body.is_some())
    }

    /// Checks a routed request against its route's schemas: `Ok(None)` for
    /// a route without any, `Ok(Some(json))` with the coerced values for
    /// JavaScript, or `Err` with the answer for a request that fails.
    #[allow(clippy::result_large_err)] // the error is the answer itself
    pub(crate) fn check(
        &self,
        route: u32,
        parts: &Parts,
        params: &[String],
        body: &Bytes,
    ) -> Result<Option<Vec<u8>>, Response<Body>> {
        self.evaluate(route, parts, params, body)
            .map_err(Refusal::into_response)
    }

    /// `check`, with a refusal as status and bytes (shared with `fetch`).
    pub(crate) fn evaluate(
        &self,
        route: u32,
        parts: &Parts,
        params_in: &[String],
        body: &Bytes,
    ) -> Result<Option<Vec<u8>>, Refusal> {
        let Some(Some(schemas)) = self.routes.get(route as usize) else {
            return Ok(None);
        };
        let mut failures = Vec::new();
        // The coerced parts, by name in sorted order: the block's keys
        // come sorted, as `c.valid` has always seen them.
        let [mut body_out, mut cookies, mut headers, mut params, mut query] =
            [None, None, None, None, None];
        if let Some(part) = &schemas.params {
            let pairs = schemas
                .names
                .iter()
                .zip(params_in)
                .map(|(n, v)| (n.clone(), vec![v.clone()]))
                .collect();
            let value = coerce::object(&pairs, &part.schema);
            params = Some(run(part, value, Location::Path, &mut failures));
        }
        if let Some(part) = &schemas.query {
            let pairs = input::form(parts.uri.query().unwrap_or(""));
            let value = coerce::object(&pairs, &part.schema);
            query = Some(run(part, value, Location::Query, &mut failures));
        }
        if let Some(part) = &schemas.headers {
            let value = coerce::object(&declared_headers(parts, &part.schema), &part.schema);
            headers = Some(run(part, value, Location::Header, &mut failures));
        }
        if let Some(part) = &schemas.cookies {
            let raw = parts.headers.get_all(COOKIE).iter();
            let pairs = input::cookies(raw.filter_map(|v| v.to_str().ok()));
            let value = coerce::object(&pairs, &part.schema);
            cookies = Some(run(part, value, Location::Cookie, &mut failures));
        }
        if let Some(part) = &schemas.body {
            match parse_body(parts, body, &part.schema)? {
                Some(value) => body_out = Some(run(part, value, Location::Body, &mut failures)),
                None => failures.push(Failure {
                    location: Location::Body,
                    pointer: String::new(),
                    keyword: "required".into(),
                    message: "a request body is required".into(),
                }),
            }
        }
        if !failures.is_empty() {
            return Err(unprocessable(&failures));
        }
        // Written as `serde_json::to_vec` of the object would, without
        // building the object.
        let mut out = Vec::with_capacity(body.len() + 64);
        out.push(b'{');
        for (name, value) in [
            ("body", body_out),
            ("cookies", cookies),
            ("headers", headers),
            ("params", params),
            ("query", query),
        ] {
            let Some(value) = value else { continue };
            if out.len() > 1 {
                out.push(b',');
            }
            out.push(b'"');
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
            // Writing to a `Vec` cannot fail.
            let _ = serde_json::to_writer(&mut out, &value);
        }
        out.push(b'}');
        Ok(Some(out))
    }
}

/// Applies defaults, validates, and records each error under `location`.
fn run(part: &Part, mut value: Value, location: Location, failures: &mut Vec<Failure>) -> Value {
    if part.defaults {
        coerce::defaults(&mut value, &part.schema);
    }
    // The yes/no check is the cheap one; errors are collected only for a
    // value that fails it.
    if part.validator.is_valid(&value) {
        return value;
    }
    for error in part.validator.iter_errors(&value) {
        failures.push(Failure {
            location,
            pointer: error.instance_path().as_str().to_string(),
            keyword: error.kind().keyword().to_string(),
            message: error.to_string(),
        });
    }
    value
}

/// The headers the schema names (a client sends many the route never
/// asked about), keyed as the schema spells them; names match without
/// regard to case, as HTTP's do.
fn declared_headers(parts: &Parts, schema: &Value) -> input::Pairs {
    let Some(Value::Object(props)) = schema.get("properties") else {
        return Vec::new();
    };
    let mut pairs = Vec::new();
    for name in props.keys() {
        let Ok(header) = http::HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()) else {
            continue;
        };
        let values: Vec<String> = parts
            .headers
            .get_all(&header)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        if !values.is_empty() {
            pairs.push((name.clone(), values));
        }
    }
    pairs
}

/// The body as a JSON value: `None` when there is none, the 400 or 415
/// answer when it cannot be read as JSON or a form.
fn parse_body(parts: &Parts, body: &Bytes, schema: &Value) -> Result<Option<Value>, Refusal> {
    if body.is_empty() {
        return Ok(None);
    }
    let essence = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map_or("", |v| v.split(';').next().unwrap_or("").trim());
    let is = |name: &str| essence.eq_ignore_ascii_case(name);
    let json_suffix = essence.len() >= 5
        && essence.is_char_boundary(essence.len() - 5)
        && essence[essence.len() - 5..].eq_ignore_ascii_case("+json");
    if is("application/json") || json_suffix {
        return match serde_json::from_slice(body) {
            Ok(value) => Ok(Some(value)),
            Err(e) => Err(Refusal::plain(
                StatusCode::BAD_REQUEST,
                &format!("the request body is not valid JSON: {e}"),
            )),
        };
    }
    if is("application/x-www-form-urlencoded") {
        let text = String::from_utf8_lossy(body);
        return Ok(Some(coerce::object(&input::form(&text), schema)));
    }
    Err(Refusal::plain(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "this route takes application/json or application/x-www-form-urlencoded",
    ))
}

#[cfg(test)]
mod tests;
