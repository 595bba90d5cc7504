//! Server configuration, sent once from TypeScript as JSON.

use serde::Deserialize;

use crate::native::NativeConfig;
use crate::statics::StaticMount;

/// One route as TypeScript registered it.
#[derive(Deserialize, Debug, Clone)]
pub(crate) struct RouteConfig {
    /// Upper-case method, or `*` for every method.
    pub(crate) method: String,
    /// Ferry pattern (`/users/:id`, `/files/*path`).
    pub(crate) path: String,
    /// Id echoed back in each request record.
    pub(crate) id: u32,
    /// For a const route: the precomputed answer Rust serves itself.
    #[serde(default)]
    pub(crate) constant: Option<ConstAnswer>,
    /// The route's schemas, checked before JavaScript runs (`validation`).
    #[serde(default)]
    pub(crate) schema: Option<crate::validation::SchemaConfig>,
    /// The route's own body limit in bytes (413 past it), instead of
    /// `max_body_bytes`.
    #[serde(default)]
    pub(crate) body_limit: Option<u64>,
    /// For a WebSocket route (`app.ws`): its socket options.
    #[serde(default)]
    pub(crate) websocket: Option<crate::ws::RouteWs>,
}

/// A response computed once by TypeScript and then served by Rust.
#[derive(Deserialize, Debug, Clone)]
pub(crate) struct ConstAnswer {
    /// HTTP status.
    pub(crate) status: u16,
    /// Header pairs.
    pub(crate) headers: Vec<(String, String)>,
    /// Body bytes (sent once, at start-up).
    #[serde(default)]
    pub(crate) body: Vec<u8>,
}

/// How the tokio runtime is driven; see `docs/crossing.md`.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Engine {
    /// A current-thread runtime driven by `ferry_pump` on the JS thread, and
    /// by `ferry_wait` on a helper thread while JS is idle.
    Pump,
    /// A multi-thread runtime with its own I/O threads.
    Thread,
}

/// Everything `ferry_server_start` needs. TypeScript always sends every
/// field (`resolveListenOptions` in lib/listen_options.ts fills them in);
/// these defaults, used only when a field is missing, match its documented
/// `@default`s (`defaults_match_the_typescript_defaults` holds them to it).
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ServerConfig {
    /// Address to bind; `0.0.0.0` (every IPv4 interface), as in TypeScript.
    pub(crate) hostname: String,
    /// TCP port; 0 picks a free one.
    pub(crate) port: u16,
    pub(crate) routes: Vec<RouteConfig>,
    /// Static file mounts.
    pub(crate) statics: Vec<StaticMount>,
    /// Native middleware settings.
    pub(crate) native: NativeConfig,
    /// Slots in the arena: the most requests TypeScript holds at once.
    pub(crate) slots: u32,
    /// Bytes of a slot's request record; larger requests overflow.
    pub(crate) request_slot_bytes: u32,
    /// Bytes of a slot's response record; larger bodies go by `ferry_set_body`.
    pub(crate) response_slot_bytes: u32,
    /// How the runtime is driven: `"pump"` (current-thread runtime driven
    /// from the JS thread) or `"thread"` (multi-thread runtime of its own).
    pub(crate) engine: Engine,
    /// tokio worker threads (`"thread"` engine only).
    pub(crate) threads: u32,
    /// Largest accepted request body (413 above it).
    pub(crate) max_body_bytes: u64,
    /// Largest accepted header block (431 above it).
    pub(crate) max_header_bytes: u32,
    /// Longest accepted request target (414 above it).
    pub(crate) max_url_bytes: u32,
    /// Time allowed for a request's headers to arrive, ms.
    pub(crate) header_timeout_ms: u64,
    /// Time an idle keep-alive connection is kept, ms.
    pub(crate) keep_alive_timeout_ms: u64,
    /// Time allowed to receive a request body, ms.
    pub(crate) body_timeout_ms: u64,
    /// Time a handler may take before Rust answers 504 and tells
    /// JavaScript the request is over (its release frees the slot), ms; 0
    /// disables it.
    pub(crate) handler_timeout_ms: u64,
    /// Time a connection may have bytes waiting to be written with none
    /// accepted, and a connection asked to close may take to do so, before
    /// it is dropped, ms; 0 disables both (see `watchdog`).
    pub(crate) send_timeout_ms: u64,
    /// Most WebSockets open at once; an upgrade past it is answered 503.
    pub(crate) max_sockets: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            hostname: "0.0.0.0".into(),
            port: 8000,
            routes: Vec::new(),
            statics: Vec::new(),
            native: NativeConfig::default(),
            slots: 4096,
            request_slot_bytes: 4096,
            response_slot_bytes: 4096,
            engine: Engine::Pump,
            threads: 1,
            max_body_bytes: 16 * 1024 * 1024,
            max_header_bytes: 16 * 1024,
            max_url_bytes: 8 * 1024,
            header_timeout_ms: 10_000,
            keep_alive_timeout_ms: 60_000,
            body_timeout_ms: 30_000,
            handler_timeout_ms: 60_000,
            send_timeout_ms: 30_000,
            max_sockets: 65_536,
        }
    }
}

impl ServerConfig {
    /// Parses and checks a configuration, with a message naming the field.
    pub(crate) fn parse(json: &[u8]) -> Result<ServerConfig, String> {
        let config: ServerConfig =
            serde_json::from_slice(json).map_err(|e| format!("invalid server config: {e}"))?;
        if config.slots == 0 || config.slots > 1 << 20 {
            return Err(format!("slots must be 1..=1048576, got {}", config.slots));
        }
        if config.request_slot_bytes < 256 || config.response_slot_bytes < 256 {
            return Err("requestSlotBytes and responseSlotBytes must be at least 256".into());
        }
        if config.threads == 0 || config.threads > 256 {
            return Err(format!("threads must be 1..=256, got {}", config.threads));
        }
        if config.max_header_bytes < 1024 {
            return Err("maxHeaderBytes must be at least 1024".into());
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_missing_fields() {
        let c = ServerConfig::parse(br#"{"port":0,"routes":[{"method":"GET","path":"/","id":0}]}"#)
            .unwrap();
        assert_eq!(c.port, 0);
        assert_eq!(c.max_body_bytes, 16 * 1024 * 1024);
        assert_eq!(c.routes.len(), 1);
    }

    /// The `@default`s of lib/listen_options.ts, by hand: a change there
    /// must be made here too.
    #[test]
    fn defaults_match_the_typescript_defaults() {
        let c = ServerConfig::parse(b"{}").unwrap();
        assert_eq!((c.hostname.as_str(), c.port), ("0.0.0.0", 8000));
        assert_eq!(
            (c.slots, c.request_slot_bytes, c.response_slot_bytes),
            (4096, 4096, 4096)
        );
        assert_eq!((c.engine, c.threads), (Engine::Pump, 1));
        assert_eq!(
            (c.max_body_bytes, c.max_header_bytes, c.max_url_bytes),
            (16 * 1024 * 1024, 16 * 1024, 8 * 1024)
        );
        assert_eq!(
            (
                c.header_timeout_ms,
                c.keep_alive_timeout_ms,
                c.body_timeout_ms,
                c.handler_timeout_ms,
                c.send_timeout_ms
            ),
            (10_000, 60_000, 30_000, 60_000, 30_000)
        );
        let ts = include_str!("../../lib/listen_options.ts");
        assert!(ts.contains(r#"options.hostname ?? "0.0.0.0""#));
        assert!(ts.contains(r#"int(options, "sendTimeoutMs", 30_000,"#));
    }

    #[test]
    fn bad_values_name_the_field() {
        assert!(ServerConfig::parse(br#"{"slots":0}"#)
            .unwrap_err()
            .contains("slots"));
        assert!(ServerConfig::parse(b"nope")
            .unwrap_err()
            .contains("invalid server config"));
    }
}
