//! Validation for `app.fetch`, which has no hyper and no slot on its path:
//! JavaScript compiles its routes' schemas here once (`compile`) and hands
//! each request's head and body over (`check`), so in-process requests get
//! the same coercion, defaults and answers as those over the network.
//! Compiled sets live as long as the process (an app compiles again only
//! when routes were added since).

use std::sync::Arc;

use bytes::Bytes;
use parking_lot::RwLock;
use serde::Deserialize;

use super::problem::Refusal;
use super::Validation;
use crate::config::RouteConfig;

static COMPILED: RwLock<Vec<Arc<Validation>>> = RwLock::new(Vec::new());

/// A request's head as `app.fetch` sends it.
#[derive(Deserialize)]
struct Head {
    method: String,
    /// Path and query, as on the request line.
    target: String,
    headers: Vec<(String, String)>,
    /// Percent-decoded parameter values, in pattern order.
    params: Vec<String>,
}

/// Compiles routes (the `routes` of a server configuration): their id.
pub(crate) fn compile(json: &[u8]) -> Result<u32, String> {
    let routes: Vec<RouteConfig> =
        serde_json::from_slice(json).map_err(|e| format!("bad route list: {e}"))?;
    let validation = Validation::from_routes(&routes)?;
    let mut compiled = COMPILED.write();
    compiled.push(Arc::new(validation));
    Ok(compiled.len() as u32 - 1)
}

/// Checks one request against route `route` of set `id`: the outcome of
/// [`Validation::evaluate`], or `Err` for a bad id or head.
pub(crate) fn check(
    id: u32,
    route: u32,
    head: &[u8],
    body: &[u8],
) -> Result<Result<Option<Vec<u8>>, Refusal>, String> {
    let set = COMPILED
        .read()
        .get(id as usize)
        .cloned()
        .ok_or_else(|| format!("no compiled route set {id}"))?;
    let head: Head = serde_json::from_slice(head).map_err(|e| format!("bad head: {e}"))?;
    let mut builder = http::Request::builder()
        .method(head.method.as_str())
        .uri(head.target.as_str());
    for (name, value) in &head.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let parts = builder
        .body(())
        .map_err(|e| format!("bad request head: {e}"))?
        .into_parts()
        .0;
    let body = Bytes::copy_from_slice(body);
    Ok(set.evaluate(route, &parts, &head.params, &body))
}
