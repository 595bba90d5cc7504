//! The validator options every schema is compiled with (draft 2020-12,
//! formats asserted), and a quick path for the `email` format.
//!
//! `jsonschema` checks `email` with the `email_address` crate (display
//! names, quoted local parts, domain literals, punycode labels): ~0.4 µs
//! of the ~2 µs a checked JSON body cost per request on `valid-body`.
//! Nearly every address a form sends is a plain `name@example.com`, which
//! a byte scan can accept; anything else, and every refusal, goes to
//! `jsonschema`'s own check, so what passes and what fails is unchanged
//! (`simple_email_is_accepted_by_the_full_check` holds the quick path to
//! that on generated addresses).

use std::sync::OnceLock;

use jsonschema::{Draft, ValidationOptions, Validator};
use serde_json::Value;

/// The options of every route, response and `app.fetch` schema.
pub(crate) fn options<'i>() -> ValidationOptions<'i> {
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .with_format("email", email)
}

/// The `email` format: the quick path, else `jsonschema`'s check.
fn email(text: &str) -> bool {
    simple_email(text) || full_email(text)
}

/// `jsonschema`'s built-in `email` check, through a schema of its own.
fn full_email(text: &str) -> bool {
    static FULL: OnceLock<Option<Validator>> = OnceLock::new();
    let full = FULL.get_or_init(|| {
        jsonschema::options()
            .with_draft(Draft::Draft202012)
            .should_validate_formats(true)
            .build(&serde_json::json!({ "format": "email" }))
            .ok()
    });
    full.as_ref()
        .is_some_and(|v| v.is_valid(&Value::String(text.to_owned())))
}

/// A plain ASCII address: a dot-atom local part of at most 64 bytes
/// (letters, digits and RFC 5322's `atext` symbols, dots only between
/// them), one `@`, and a host name of at most 253 bytes whose labels are
/// 1–63 letters, digits and hyphens, starting and ending with a letter or
/// digit, with no `--` (which could make a punycode label). Only says
/// yes: `false` means "ask the full check".
fn simple_email(text: &str) -> bool {
    let bytes = text.as_bytes();
    let Some(at) = bytes.iter().position(|&b| b == b'@') else {
        return false;
    };
    let (local, domain) = (&bytes[..at], &bytes[at + 1..]);
    if !(1..=64).contains(&local.len()) || !(1..=253).contains(&domain.len()) {
        return false;
    }
    // One pass over each part, bytes only (splitting by `char` showed).
    let mut prev = b'.';
    for &b in local {
        let ok = match b {
            b'.' => prev != b'.',
            _ => b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b),
        };
        if !ok {
            return false;
        }
        prev = b;
    }
    if prev == b'.' {
        return false;
    }
    let (mut label, mut prev) = (0, b'.');
    for &b in domain {
        match b {
            b'.' if label > 0 && prev != b'-' => label = 0,
            b'-' if label > 0 && label < 63 && prev != b'-' => label += 1,
            _ if b.is_ascii_alphanumeric() && label < 63 => label += 1,
            _ => return false,
        }
        prev = b;
    }
    label > 0 && prev != b'-'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_email_is_accepted_by_the_full_check() {
        for text in [
            "ada@example.com",
            "a.b+tag@mail.example.co.uk",
            "x@localhost",
            "o'neil{}|~@a-b.c9",
        ] {
            assert!(simple_email(text), "{text}");
            assert!(full_email(text), "{text}");
        }
        let long = |n: usize| "a".repeat(n);
        assert!(simple_email(&format!("{}@{}.b", long(64), long(63))));
        for text in [
            format!("{}@b.c", long(65)),
            format!("a@{}.c", long(64)),
            format!("a@{}", [long(63), long(63), long(63), long(63)].join(".")),
        ] {
            assert!(!simple_email(&text), "{text}");
        }
        for text in [
            "nope",
            "a.@b.c",
            "a@b-.c",
            "a@b.-c",
            "a@b--c.d",
            "a@b@c.d",
            ".a@b.c",
            "a..b@c.d",
            "a@b..c",
            "a@-b.c",
            "a@b.c.",
            "a@xn--ls8h.la",
            "\"q\"@b.c",
            "A <a@b.c>",
            "a@[127.0.0.1]",
            "é@b.c",
        ] {
            assert!(!simple_email(text), "{text}");
        }
        // Generated strings over the characters that matter, half of them
        // shaped `local@domain`: the quick path never says yes where the
        // full check says no.
        let alphabet = b"ab1.-@_+<> \"[]x-n";
        let part = b"ab1.-_+x-n";
        let mut seed = 0x9e37_79b9_u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as usize
        };
        let mut accepted = 0;
        for i in 0..200_000 {
            let mut pick = |chars: &[u8], most: usize| -> String {
                let len = 1 + next() % most;
                (0..len)
                    .map(|_| chars[next() % chars.len()] as char)
                    .collect()
            };
            let text = if i % 2 == 0 {
                pick(alphabet, 14)
            } else {
                format!("{}@{}", pick(part, 6), pick(part, 8))
            };
            if simple_email(&text) {
                accepted += 1;
                assert!(full_email(&text), "{text:?}");
            }
        }
        assert!(accepted > 1000, "{accepted}");
    }
}
