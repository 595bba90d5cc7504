use super::*;
use serde_json::json;

fn validation(schema: Value) -> Validation {
    let route: RouteConfig = serde_json::from_value(json!({
        "method": "POST", "path": "/u/:id", "id": 0, "schema": schema
    }))
    .unwrap();
    Validation::from_routes(&[route]).unwrap()
}

fn request(uri: &str, headers: &[(&str, &str)]) -> Parts {
    let mut builder = http::Request::builder().method("POST").uri(uri);
    for (n, v) in headers {
        builder = builder.header(*n, *v);
    }
    builder.body(()).unwrap().into_parts().0
}

fn body_of(response: Response<Body>) -> Value {
    use http_body_util::BodyExt;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let bytes = rt
        .block_on(response.into_body().collect())
        .unwrap()
        .to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn coerced_values_and_defaults_pass() {
    let v = validation(json!({
        "names": ["id"],
        "params": {"type": "object", "properties": {"id": {"type": "integer"}}},
        "query": {"type": "object", "properties": {"limit": {"type": "integer", "default": 10}}},
        "body": {"type": "object", "properties": {"name": {"type": "string"}}}
    }));
    let parts = request("/u/7", &[("content-type", "application/json")]);
    let out = v
        .check(
            0,
            &parts,
            &["7".into()],
            &Bytes::from_static(br#"{"name":"a"}"#),
        )
        .unwrap()
        .unwrap();
    let value: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        value,
        json!({"params": {"id": 7}, "query": {"limit": 10}, "body": {"name": "a"}})
    );
    // Byte for byte what serializing the object gives: keys sorted, compact.
    assert_eq!(out, serde_json::to_vec(&value).unwrap());
    // The media type is matched without regard to case, `+json` included.
    for media in [
        "Application/JSON; charset=utf-8",
        "application/vnd.api+JSON",
    ] {
        let parts = request("/u/7", &[("content-type", media)]);
        let body = Bytes::from_static(br#"{"name":"a"}"#);
        assert!(v.check(0, &parts, &["7".into()], &body).is_ok(), "{media}");
    }
}

#[test]
fn every_error_is_listed_with_its_location_and_pointer() {
    let v = validation(json!({
        "names": ["id"],
        "params": {"type": "object", "properties": {"id": {"type": "integer"}}},
        "headers": {"type": "object", "required": ["X-Key"]},
        "body": {"type": "object", "properties": {
            "tags": {"type": "array", "items": {"type": "string", "format": "uuid"}}
        }}
    }));
    let parts = request("/u/x", &[("content-type", "application/json")]);
    let body = Bytes::from_static(br#"{"tags":["nope"]}"#);
    let answer = v.check(0, &parts, &["x".into()], &body).unwrap_err();
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let errors = body_of(answer)["errors"].clone();
    let summary: Vec<(String, String, String)> = errors
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap().to_string();
            (s("location"), s("pointer"), s("keyword"))
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("path".into(), "/id".into(), "type".into()),
            ("header".into(), "".into(), "required".into()),
            ("body".into(), "/tags/0".into(), "format".into()),
        ]
    );
}

#[test]
fn unreadable_bodies_are_400_and_415() {
    let v = validation(json!({"body": {"type": "object"}}));
    let json = request("/u/1", &[("content-type", "application/json")]);
    let bad = v
        .check(0, &json, &[], &Bytes::from_static(b"{"))
        .unwrap_err();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let text = request("/u/1", &[("content-type", "text/plain")]);
    let wrong = v
        .check(0, &text, &[], &Bytes::from_static(b"hi"))
        .unwrap_err();
    assert_eq!(wrong.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[test]
fn a_bad_schema_names_its_route() {
    let route: RouteConfig = serde_json::from_value(json!({
        "method": "GET", "path": "/x", "id": 0, "schema": {"query": {"type": 12}}
    }))
    .unwrap();
    let error = Validation::from_routes(&[route]).err().unwrap();
    assert!(error.contains("query schema of GET /x"), "{error}");
}

#[test]
fn only_a_route_with_a_body_schema_reads_its_body_whole() {
    let with_body = validation(json!({"body": {"type": "object"}}));
    assert!(with_body.reads_body(0));
    assert!(!with_body.reads_body(1));
    let query_only = validation(json!({"query": {"type": "object"}}));
    assert!(!query_only.reads_body(0));
}
