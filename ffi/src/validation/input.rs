//! The raw inputs of a request, split into named string values: query
//! strings and form bodies (`application/x-www-form-urlencoded`), the
//! `Cookie` header. Values keep their order; a repeated key keeps all of
//! its values, so an array property can take them.

use percent_encoding::percent_decode_str;

/// Name/values pairs in first-seen order.
pub(crate) type Pairs = Vec<(String, Vec<String>)>;

fn push(pairs: &mut Pairs, name: String, value: String) {
    match pairs.iter_mut().find(|(n, _)| *n == name) {
        Some((_, values)) => values.push(value),
        None => pairs.push((name, vec![value])),
    }
}

/// Decodes one form component: `+` is a space, then percent-decoding
/// (invalid UTF-8 is replaced, as `URLSearchParams` does).
fn form_decode(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// Parses `a=1&b=2&a=3` (a query string or a form body).
pub(crate) fn form(text: &str) -> Pairs {
    let mut pairs = Pairs::new();
    for part in text.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        push(&mut pairs, form_decode(name), form_decode(value));
    }
    pairs
}

/// Parses `Cookie` header values (`a=1; b=2`), RFC 6265: values may be
/// double-quoted; they are not percent-decoded.
pub(crate) fn cookies<'a>(headers: impl Iterator<Item = &'a str>) -> Pairs {
    let mut pairs = Pairs::new();
    for header in headers {
        for part in header.split(';') {
            let Some((name, value)) = part.trim().split_once('=') else {
                continue;
            };
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            push(&mut pairs, name.trim().to_string(), value.to_string());
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decodes_and_groups_repeated_keys() {
        let pairs = form("a=1&b=x+y%21&a=3&flag&=e");
        assert_eq!(
            pairs,
            vec![
                ("a".into(), vec!["1".into(), "3".into()]),
                ("b".into(), vec!["x y!".into()]),
                ("flag".into(), vec!["".into()]),
                ("".into(), vec!["e".into()]),
            ]
        );
    }

    #[test]
    fn cookies_split_on_semicolons_and_unquote() {
        let pairs = cookies(["a=1; b=\"two\"", "c=3;bad"].into_iter());
        assert_eq!(
            pairs,
            vec![
                ("a".into(), vec!["1".into()]),
                ("b".into(), vec!["two".into()]),
                ("c".into(), vec!["3".into()]),
            ]
        );
    }
}
