//! `Accept-Encoding` (RFC 9110 §12.5.3), parsed in one place for every
//! feature that picks a content coding: static files choosing a
//! precompressed sibling and `compress()` choosing how to compress. Two
//! parsers used to read `br;q=2, gzip;q=0.5` differently (issue #11), so
//! one client got brotli from one and gzip from the other.
//!
//! Where the RFC leaves room, Ferry reads the header this way:
//! - A q-value must match the grammar exactly: `0`, or `0.` with up to three
//!   digits, or `1`, or `1.` with up to three zeros. Anything else (`2`,
//!   `0.5000`, `1e0`, `-0`, `.5`, a bare `q`) is malformed, and a malformed
//!   q-value refuses its coding, as `q=0` would: a coding the client did not
//!   validly accept is never sent, while identity always remains.
//! - A coding listed twice keeps its lowest q-value (a refusal wins).
//! - `*` stands for the codings not named; `x-gzip` is `gzip`.
//! - Every `Accept-Encoding` line counts, as one comma-separated list
//!   (RFC 9110 §5.3); a line that is not visible ASCII is skipped.
//! - Names and the `q` are case-insensitive; spaces and tabs around
//!   elements, `;` and `=` are skipped, and so are empty elements.
//! - `identity` is always acceptable: even `identity;q=0` with nothing else
//!   accepted gets the plain bytes rather than a 415, as servers commonly do.
//! - No header at all means identity: the RFC would allow any coding, but
//!   clients that decode (browsers, `curl --compressed`) always send one.

use http::header::ACCEPT_ENCODING;
use http::HeaderMap;

/// A content coding Ferry can produce or serve precompressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// `br`
    Brotli,
    /// `gzip`
    Gzip,
}

impl Encoding {
    /// The coding's name in `Content-Encoding`.
    pub(crate) fn token(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gzip",
        }
    }
}

/// The q-values a request gives the codings Ferry knows, in thousandths
/// (the grammar's precision), so comparisons are exact. `None`: not named.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AcceptEncoding {
    br: Option<u16>,
    gzip: Option<u16>,
    any: Option<u16>,
}

/// q=1 in thousandths.
const FULL: u16 = 1000;

impl AcceptEncoding {
    /// Reads every `Accept-Encoding` line of `headers`; `None` without one.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Option<AcceptEncoding> {
        let mut lines = headers.get_all(ACCEPT_ENCODING).iter().peekable();
        lines.peek()?;
        Some(AcceptEncoding::parse(
            lines.filter_map(|line| line.to_str().ok()),
        ))
    }

    /// Parses header lines (each a comma-separated list).
    pub(crate) fn parse<'a>(lines: impl IntoIterator<Item = &'a str>) -> AcceptEncoding {
        let mut out = AcceptEncoding::default();
        for element in lines.into_iter().flat_map(|line| line.split(',')) {
            let mut params = element.split(';');
            let name = params.next().unwrap_or("").trim();
            let mut q: Option<u16> = None;
            for param in params {
                let (key, value) = param.split_once('=').unwrap_or((param, ""));
                if key.trim().eq_ignore_ascii_case("q") {
                    let weight = qvalue(value.trim()).unwrap_or(0);
                    q = Some(q.map_or(weight, |q| q.min(weight)));
                }
            }
            let slot = if name.eq_ignore_ascii_case("br") {
                &mut out.br
            } else if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
                &mut out.gzip
            } else if name == "*" {
                &mut out.any
            } else {
                // identity, codings Ferry cannot produce, empty elements.
                continue;
            };
            let q = q.unwrap_or(FULL);
            *slot = Some(slot.map_or(q, |old| old.min(q)));
        }
        out
    }

    /// The q-value of `encoding`, in thousandths; 0 means refused.
    pub(crate) fn q(&self, encoding: Encoding) -> u16 {
        let named = match encoding {
            Encoding::Brotli => self.br,
            Encoding::Gzip => self.gzip,
        };
        named.or(self.any).unwrap_or(0)
    }

    /// The accepted coding of `offered` with the highest q-value; a tie goes
    /// to the earlier entry of `offered` (the server's preference).
    pub(crate) fn best(&self, offered: &[Encoding]) -> Option<Encoding> {
        let mut best: Option<(Encoding, u16)> = None;
        for &encoding in offered {
            let q = self.q(encoding);
            if q > 0 && best.is_none_or(|(_, top)| q > top) {
                best = Some((encoding, q));
            }
        }
        best.map(|(encoding, _)| encoding)
    }

    /// Every accepted coding of `offered`, best first, ties in `offered`
    /// order: a static file tries its precompressed siblings in this order.
    pub(crate) fn ranked(&self, offered: &[Encoding]) -> Vec<Encoding> {
        let mut out: Vec<Encoding> = offered.iter().copied().filter(|&e| self.q(e) > 0).collect();
        // A stable sort keeps `offered` order among equals.
        out.sort_by_key(|&e| std::cmp::Reverse(self.q(e)));
        out
    }
}

/// A strict RFC 9110 §12.4.2 qvalue in thousandths, or `None` when
/// malformed: `( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`.
fn qvalue(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |n, digit| n * 10 + u16::from(digit - b'0'));
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(FULL),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Encoding::{Brotli as Br, Gzip};

    /// Header lines and what each feature makes of them: the order static
    /// files try siblings in, which `compress()` takes the first of.
    #[test]
    fn accept_encoding_is_read_one_way() {
        let cases: &[(&[&str], &[Encoding])] = &[
            // q-values, ties (server order: br first) and refusals.
            (&["gzip, deflate, br"], &[Br, Gzip]),
            (&["gzip"], &[Gzip]),
            (&["br;q=0.5, gzip;q=0.8"], &[Gzip, Br]),
            (&["br;q=0.001, gzip;q=0.002"], &[Gzip, Br]),
            (&["gzip;q=0.3, br;q=0.300"], &[Br, Gzip]),
            (&["br;q=0, gzip;q=0"], &[]),
            (&["br;q=0.000, gzip;q=1.000"], &[Gzip]),
            (&["gzip;q=0., br;q=1."], &[Br]),
            // `*` covers only the codings not named.
            (&["*"], &[Br, Gzip]),
            (&["*;q=0"], &[]),
            (&["br;q=0, *"], &[Gzip]),
            (&["*;q=0.5, gzip;q=0.6"], &[Gzip, Br]),
            (&["*;q=0, gzip"], &[Gzip]),
            // identity is always acceptable and never a compressed coding.
            (&["identity"], &[]),
            (&["identity;q=0"], &[]),
            (&["identity;q=0, *"], &[Br, Gzip]),
            (&[""], &[]),
            (&["deflate, zstd"], &[]),
            // Whitespace, case and x-gzip.
            (&["  GZIP ;  Q = 0.9 ,\tBR;q=0.8 "], &[Gzip, Br]),
            (&["X-GZIP ; Q=0.3"], &[Gzip]),
            (&[",, br ,"], &[Br]),
            // Malformed q-values refuse their coding.
            (&["br;q=2, gzip;q=0.5"], &[Gzip]),
            (&["br;q=1.5, gzip"], &[Gzip]),
            (&["br;q=1.001, gzip"], &[Gzip]),
            (&["br;q=0.5000, gzip;q=0.4"], &[Gzip]),
            (&["br;q=1e0, gzip;q=0.1"], &[Gzip]),
            (&["br;q=-0, gzip"], &[Gzip]),
            (&["br;q=.5, gzip"], &[Gzip]),
            (&["br;q=bogus, gzip"], &[Gzip]),
            (&["br;q, gzip"], &[Gzip]),
            (&["br;q=, gzip"], &[Gzip]),
            (&["*;q=2"], &[]),
            // Other parameters are ignored; a duplicate keeps the lower q.
            (&["br;level=3"], &[Br]),
            (&["br;q=0.2;q=0.9, gzip;q=0.5"], &[Gzip, Br]),
            (&["gzip, gzip;q=0"], &[]),
            (&["gzip;q=0, x-gzip"], &[]),
            // Every line counts.
            (&["gzip;q=0.1", "br"], &[Br, Gzip]),
            (&["br;q=0", "gzip;q=0.2"], &[Gzip]),
            (&["br", "br;q=0"], &[]),
        ];
        for &(lines, expected) in cases {
            let accept = AcceptEncoding::parse(lines.iter().copied());
            assert_eq!(accept.ranked(&[Br, Gzip]), expected, "{lines:?}");
            assert_eq!(
                accept.best(&[Br, Gzip]),
                expected.first().copied(),
                "{lines:?}"
            );
        }
        // The server's order breaks ties, and only offered codings count.
        let both = AcceptEncoding::parse(["br, gzip"]);
        assert_eq!(both.best(&[Gzip, Br]), Some(Gzip));
        assert_eq!(both.best(&[Gzip]), Some(Gzip));
        assert_eq!(AcceptEncoding::parse(["br"]).best(&[Gzip]), None);
    }

    #[test]
    fn every_header_line_is_read_and_none_means_identity() {
        let mut headers = HeaderMap::new();
        assert_eq!(AcceptEncoding::from_headers(&headers), None);
        headers.append(ACCEPT_ENCODING, "gzip;q=0.1".parse().unwrap());
        headers.append(ACCEPT_ENCODING, "br".parse().unwrap());
        let accept = AcceptEncoding::from_headers(&headers).unwrap();
        assert_eq!(accept.best(&[Br, Gzip]), Some(Br));
        assert_eq!(accept.q(Gzip), 100);
    }
}
