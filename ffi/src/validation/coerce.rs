//! Turns strings into the types a schema asks for, and fills in defaults.
//!
//! Path parameters, query strings, headers, cookies and form bodies are
//! text; a schema saying `"type": "integer"` means the text `"42"` should
//! reach the handler as `42`. Coercion follows the property's `type` (a
//! string or a list, tried in order); a value that does not convert stays
//! a string, so the validator reports it with the schema's own `type`
//! error and the right pointer, rather than this module inventing one.

use serde_json::{Map, Number, Value};

use super::input::Pairs;

/// The `type` keyword of `schema` as a list (empty when absent).
fn types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// One string converted to the first of the schema's types it fits.
fn one(raw: &str, schema: Option<&Value>) -> Value {
    let Some(schema) = schema else {
        return Value::String(raw.to_string());
    };
    for kind in types(schema) {
        match kind {
            "integer" => {
                if let Ok(n) = raw.parse::<i64>() {
                    return n.into();
                }
            }
            "number" => {
                if let Ok(n) = raw.parse::<i64>() {
                    return n.into();
                }
                if let Some(n) = raw.parse::<f64>().ok().and_then(Number::from_f64) {
                    return Value::Number(n);
                }
            }
            "boolean" => match raw {
                "true" => return Value::Bool(true),
                "false" => return Value::Bool(false),
                _ => {}
            },
            "null" if raw.is_empty() || raw == "null" => return Value::Null,
            "string" => return Value::String(raw.to_string()),
            _ => {}
        }
    }
    Value::String(raw.to_string())
}

/// The values of one key: an array when the schema wants one (each item
/// coerced by `items`), else the first value.
fn values(raw: &[String], schema: Option<&Value>) -> Value {
    if let Some(s) = schema.filter(|s| types(s).contains(&"array")) {
        let items = s.get("items");
        return Value::Array(raw.iter().map(|v| one(v, items)).collect());
    }
    one(raw.first().map_or("", String::as_str), schema)
}

/// The schema of property `name` of an object schema.
fn property<'a>(schema: &'a Value, name: &str) -> Option<&'a Value> {
    schema.get("properties")?.get(name)
}

/// An object of coerced values, one entry per key of `pairs`.
pub(crate) fn object(pairs: &Pairs, schema: &Value) -> Value {
    let mut out = Map::new();
    for (name, raw) in pairs {
        out.insert(name.clone(), values(raw, property(schema, name)));
    }
    Value::Object(out)
}

/// Fills in each missing property that has a `default`, at every level of
/// `value` the schema describes (objects through `properties`, arrays
/// through `items`). JSON Schema validators never apply defaults; route
/// schemas promise them to handlers.
pub(crate) fn defaults(value: &mut Value, schema: &Value) {
    match value {
        Value::Object(map) => {
            let Some(Value::Object(props)) = schema.get("properties") else {
                return;
            };
            for (name, sub) in props {
                match map.get_mut(name) {
                    Some(v) => defaults(v, sub),
                    None => {
                        if let Some(d) = sub.get("default") {
                            map.insert(name.clone(), d.clone());
                        }
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items") {
                items.iter_mut().for_each(|v| defaults(v, sub));
            }
        }
        _ => {}
    }
}

/// Whether [`defaults`] can ever fill anything in for `schema`: a
/// property with a `default`, at any level it walks.
pub(crate) fn has_defaults(schema: &Value) -> bool {
    let in_properties = match schema.get("properties") {
        Some(Value::Object(props)) => props
            .values()
            .any(|sub| sub.get("default").is_some() || has_defaults(sub)),
        _ => false,
    };
    in_properties || schema.get("items").is_some_and(has_defaults)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pairs(list: &[(&str, &[&str])]) -> Pairs {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn strings_take_the_schema_types() {
        let schema = json!({"properties": {
            "i": {"type": "integer"}, "n": {"type": "number"}, "b": {"type": "boolean"},
            "s": {"type": "string"}, "either": {"type": ["integer", "string"]},
            "list": {"type": "array", "items": {"type": "integer"}},
            "bad": {"type": "integer"}, "nul": {"type": ["null", "integer"]}
        }});
        let input = pairs(&[
            ("i", &["42"]),
            ("n", &["1.5"]),
            ("b", &["true"]),
            ("s", &["7"]),
            ("either", &["x"]),
            ("list", &["1", "2", "z"]),
            ("bad", &["4x"]),
            ("nul", &[""]),
            ("free", &["a", "b"]),
        ]);
        assert_eq!(
            object(&input, &schema),
            json!({"i": 42, "n": 1.5, "b": true, "s": "7", "either": "x",
                   "list": [1, 2, "z"], "bad": "4x", "nul": null, "free": "a"})
        );
    }

    #[test]
    fn defaults_fill_missing_properties_at_every_level() {
        let schema = json!({"properties": {
            "limit": {"type": "integer", "default": 10},
            "inner": {"properties": {"on": {"default": true}}},
            "list": {"items": {"properties": {"x": {"default": 0}}}}
        }});
        let mut value = json!({"inner": {}, "list": [{}, {"x": 5}]});
        defaults(&mut value, &schema);
        assert_eq!(
            value,
            json!({"limit": 10, "inner": {"on": true}, "list": [{"x": 0}, {"x": 5}]})
        );
        assert!(has_defaults(&schema));
        assert!(has_defaults(
            &json!({"items": {"properties": {"x": {"default": 0}}}})
        ));
        let none = json!({"properties": {"a": {"type": "integer"}, "b": {"items": {}}}});
        assert!(!has_defaults(&none));
    }
}
