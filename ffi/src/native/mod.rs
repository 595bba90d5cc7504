//! Native middleware: work Rust does around the TypeScript part of a
//! request, with zero crossings (CORS, compression, security headers,
//! request ids, rate limits, global headers). Configured once from
//! TypeScript through `ServerConfig::native`.

use std::net::SocketAddr;

use http::request::Parts;
use http::Response;
use serde::Deserialize;

use crate::body::Body;

/// Native middleware settings, as sent by TypeScript.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct NativeConfig {}

/// What `on_request` remembers for `on_response`.
#[derive(Default)]
pub(crate) struct Exchange {}

/// The configured native middleware of one server.
#[derive(Default)]
pub(crate) struct Native {}

impl Native {
    /// Builds the pipeline, checking the settings.
    pub(crate) fn from_config(_config: &NativeConfig) -> Result<Native, String> {
        Ok(Native {})
    }

    /// Runs before routing: may answer at once (a CORS preflight, a rate
    /// limit) or change the request (add a request id, global headers).
    pub(crate) fn on_request(
        &self,
        _parts: &mut Parts,
        _remote: SocketAddr,
    ) -> (Option<Response<Body>>, Exchange) {
        (None, Exchange {})
    }

    /// Runs on every response, whoever made it.
    pub(crate) fn on_response(&self, _exchange: &Exchange, response: Response<Body>) -> Response<Body> {
        response
    }
}
