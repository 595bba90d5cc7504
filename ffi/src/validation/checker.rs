//! Schemas compiled on their own, outside any server, and checked against
//! JSON bytes on request: the opt-in response check (`validateResponses`)
//! calls it once per checked response, from JavaScript, with the body it
//! is about to send. Checkers live as long as the process: an app compiles
//! its response schemas once, however often it listens.

use jsonschema::Validator;
use parking_lot::RwLock;
use serde_json::Value;

static CHECKERS: RwLock<Vec<Validator>> = RwLock::new(Vec::new());

/// How many errors a failed check names (the rest are counted).
const NAMED: usize = 5;

/// Compiles a JSON Schema 2020-12 document (formats asserted): its id.
pub(crate) fn compile(json: &[u8]) -> Result<u32, String> {
    let schema: Value =
        serde_json::from_slice(json).map_err(|e| format!("the schema is not JSON: {e}"))?;
    let validator = super::formats::options()
        .build(&schema)
        .map_err(|e| format!("not a valid JSON Schema: {e}"))?;
    let mut checkers = CHECKERS.write();
    checkers.push(validator);
    Ok(checkers.len() as u32 - 1)
}

/// Checks `json` against checker `id`: `Ok(None)` when it matches,
/// `Ok(Some(why))` naming the failing fields, `Err` for a bad id or bytes
/// that are not JSON.
pub(crate) fn check(id: u32, json: &[u8]) -> Result<Option<String>, String> {
    let value: Value =
        serde_json::from_slice(json).map_err(|e| format!("the body is not JSON: {e}"))?;
    let checkers = CHECKERS.read();
    let validator = checkers
        .get(id as usize)
        .ok_or_else(|| format!("no schema checker {id}"))?;
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{:?}: {e}", e.instance_path().as_str()))
        .collect();
    if errors.is_empty() {
        return Ok(None);
    }
    let mut why = errors[..errors.len().min(NAMED)].join("; ");
    if errors.len() > NAMED {
        why.push_str(&format!("; and {} more", errors.len() - NAMED));
    }
    Ok(Some(why))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_the_failing_field() {
        let id = compile(br#"{"properties":{"n":{"type":"integer"}}}"#).unwrap();
        assert_eq!(check(id, br#"{"n":1}"#), Ok(None));
        let why = check(id, br#"{"n":"x"}"#).unwrap().unwrap();
        assert!(why.starts_with("\"/n\": "), "{why}");
        assert!(check(id, b"{").is_err());
        assert!(compile(br#"{"type":12}"#).is_err());
    }
}
