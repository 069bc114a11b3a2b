//! The OpenAPI document: valid OpenAPI 3, generated from the code, listing every route.

use crate::support::TestApp;
use axum::http::{Method, StatusCode};
use frontline_store::Backend;
use serde_json::Value;

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if k == "$ref" {
                    if let Some(s) = child.as_str() {
                        out.push(s.to_string());
                    }
                }
                refs(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| refs(i, out)),
        _ => {}
    }
}

#[tokio::test]
async fn openapi_document_is_complete_and_consistent() {
    let app = TestApp::new(Backend::Sqlite).await;
    let res = app.api(Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(res.status, StatusCode::OK);
    let doc = res.json();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{}", doc["openapi"]);
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let paths = doc["paths"].as_object().expect("paths");
    let contract = [
        ("get", "/api/v1/buildings"),
        ("get", "/api/v1/residents"),
        ("post", "/api/v1/residents"),
        ("get", "/api/v1/residents/{id}"),
        ("get", "/api/v1/audit"),
        ("post", "/api/v1/auth/login"),
        ("get", "/api/v1/openapi.json"),
    ];
    for (method, path) in contract {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} missing");
    }
    let mut operation_ids = std::collections::BTreeSet::new();
    for (path, ops) in paths {
        assert!(path.starts_with("/api/v1/"), "{path}");
        for (method, op) in ops.as_object().expect("ops") {
            assert!(["get", "post", "put", "patch", "delete"].contains(&method.as_str()), "{method}");
            let id = op["operationId"].as_str().expect("operationId");
            assert!(operation_ids.insert(id.to_string()), "duplicate operationId {id}");
            assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path} has no responses");
            // Path parameters are declared.
            for segment in path.split('/').filter(|s| s.starts_with('{')) {
                let name = segment.trim_matches(['{', '}']);
                let declared = op["parameters"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["name"] == name && p["in"] == "path"));
                assert!(declared, "{method} {path} does not declare {name}");
            }
            // And every parameter said to be in the path is in it (a query struct
            // left at the default placement would claim to be).
            for p in op["parameters"].as_array().into_iter().flatten().filter(|p| p["in"] == "path") {
                let name = p["name"].as_str().unwrap_or("");
                assert!(path.contains(&format!("{{{name}}}")), "{method} {path} declares {name} in its path");
            }
            // The route is served: an anonymous call never answers 404 or 405.
            let concrete = path.replace("{id}", "1");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let status = app.api(m, &concrete, None, None).await.status;
            assert!(
                status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} not served: {status}"
            );
        }
    }
    let mut all_refs = Vec::new();
    refs(&doc, &mut all_refs);
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for r in all_refs {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected ref {r}"));
        assert!(schemas.contains_key(name), "dangling $ref {r}");
    }
    assert!(schemas.contains_key("ErrorEnvelope") && schemas.contains_key("ResidentView"));
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    app.finish().await;
}
