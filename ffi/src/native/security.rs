//! `securityHeaders()`: the usual hardening headers, each set only when the
//! response does not carry it already.

use http::header::{
    HeaderName, HeaderValue, CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use http::HeaderMap;
use serde::Deserialize;

use super::{header_value, set_absent};

/// `securityHeaders()` settings; `null` turns a header off. `lib/native.ts`
/// documents the defaults.
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SecurityHeadersConfig {
    content_type_options: Option<String>,
    frame_options: Option<String>,
    referrer_policy: Option<String>,
    strict_transport_security: Option<String>,
    content_security_policy: Option<String>,
    cross_origin_opener_policy: Option<String>,
}

/// The header pairs to add, built once.
pub(crate) struct SecurityHeaders {
    pairs: Vec<(HeaderName, HeaderValue)>,
}

const CROSS_ORIGIN_OPENER_POLICY: HeaderName =
    HeaderName::from_static("cross-origin-opener-policy");

impl SecurityHeaders {
    /// Checks the values.
    pub(crate) fn new(config: &SecurityHeadersConfig) -> Result<SecurityHeaders, String> {
        let wanted = [
            (X_CONTENT_TYPE_OPTIONS, &config.content_type_options),
            (X_FRAME_OPTIONS, &config.frame_options),
            (REFERRER_POLICY, &config.referrer_policy),
            (STRICT_TRANSPORT_SECURITY, &config.strict_transport_security),
            (CONTENT_SECURITY_POLICY, &config.content_security_policy),
            (
                CROSS_ORIGIN_OPENER_POLICY,
                &config.cross_origin_opener_policy,
            ),
        ];
        let mut pairs = Vec::new();
        for (name, value) in wanted {
            if let Some(value) = value {
                pairs.push((name, header_value("securityHeaders", value)?));
            }
        }
        Ok(SecurityHeaders { pairs })
    }

    /// Adds the headers the response lacks.
    pub(crate) fn on_response(&self, headers: &mut HeaderMap) {
        for (name, value) in &self.pairs {
            set_absent(headers, name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_added_when_absent_only() {
        let config = r#"{"contentTypeOptions":"nosniff","frameOptions":"DENY","referrerPolicy":null,
            "strictTransportSecurity":null,"contentSecurityPolicy":"default-src 'self'","crossOriginOpenerPolicy":null}"#;
        let security = SecurityHeaders::new(&serde_json::from_str(config).unwrap()).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
        security.on_response(&mut headers);
        assert_eq!(headers[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[X_FRAME_OPTIONS], "SAMEORIGIN");
        assert_eq!(headers[CONTENT_SECURITY_POLICY], "default-src 'self'");
        assert!(headers.get(REFERRER_POLICY).is_none());
    }
}
