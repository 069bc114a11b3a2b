//! The OpenAPI document: valid OpenAPI 3, generated from the code, listing every
//! route; response schemas that say what bodies hold, and hold what answers do;
//! request fields the server requires marked `required`.

use crate::support::TestApp;
use axum::http::{Method, StatusCode};
use frontline_domain::access::Role;
use frontline_store::Backend;
use serde_json::{json, Value};

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

/// The schema `s` stands for: the component its `$ref` names, or itself.
fn resolve<'a>(doc: &'a Value, s: &'a Value) -> &'a Value {
    match s["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => resolve(doc, &doc["components"]["schemas"][name]),
        None => s,
    }
}

fn is_object_type(s: &Value) -> bool {
    s["type"] == "object" || s["type"].as_array().is_some_and(|t| t.iter().any(|t| t == "object"))
}

/// Records in `bad` every schema under `s` that says nothing of its content: an
/// object with neither properties nor declared additional properties, or an
/// empty schema (any value at all). Components are followed once each.
fn untyped(doc: &Value, s: &Value, at: &str, seen: &mut std::collections::BTreeSet<String>, bad: &mut Vec<String>) {
    if let Some(r) = s["$ref"].as_str() {
        if seen.insert(r.to_string()) {
            untyped(doc, resolve(doc, s), r, seen, bad);
        }
        return;
    }
    let composed = ["allOf", "oneOf", "anyOf"];
    for key in composed {
        for (i, sub) in s[key].as_array().into_iter().flatten().enumerate() {
            untyped(doc, sub, &format!("{at}/{key}/{i}"), seen, bad);
        }
    }
    for (name, p) in s["properties"].as_object().into_iter().flatten() {
        untyped(doc, p, &format!("{at}.{name}"), seen, bad);
    }
    for (i, p) in s["prefixItems"].as_array().into_iter().flatten().enumerate() {
        untyped(doc, p, &format!("{at}[{i}]"), seen, bad);
    }
    if s["items"].is_object() {
        untyped(doc, &s["items"], &format!("{at}[]"), seen, bad);
    }
    // `additionalProperties: {}` declares a map of values of any kind, as meant.
    if s["additionalProperties"].as_object().is_some_and(|m| !m.is_empty()) {
        untyped(doc, &s["additionalProperties"], &format!("{at}{{}}"), seen, bad);
    }
    let described = |key: &str| s.get(key).is_some();
    let empty = s.as_object().is_none_or(|m| m.keys().all(|k| k == "description" || k == "default"));
    let bare_object = is_object_type(s)
        && !described("properties")
        && !described("additionalProperties")
        && !composed.iter().any(|k| described(k));
    if empty || bare_object {
        bad.push(format!("{at}: {s}"));
    }
}

async fn openapi_doc(app: &TestApp) -> Value {
    let res = app.api(Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(res.status, StatusCode::OK);
    res.json()
}

/// Every response body says what it holds: no bare `object`, no schema-less value,
/// down to the last nested field (free-form maps must say so).
#[tokio::test]
async fn response_bodies_have_real_schemas() {
    let app = TestApp::new(Backend::Sqlite).await;
    let doc = openapi_doc(&app).await;
    let mut bad = Vec::new();
    let mut bodies = 0;
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("ops") {
            for (status, res) in op["responses"].as_object().expect("responses") {
                for (media, content) in res["content"].as_object().into_iter().flatten() {
                    let at = format!("{method} {path} {status} {media}");
                    let schema = content.get("schema").unwrap_or_else(|| panic!("{at}: no schema"));
                    untyped(&doc, schema, &at, &mut Default::default(), &mut bad);
                    bodies += 1;
                }
            }
        }
    }
    assert!(bodies > 50, "only {bodies} response bodies");
    assert!(bad.is_empty(), "response schemas without content:\n{}", bad.join("\n"));
    app.finish().await;
}

/// A name in an error's `fields` (`scans[0].key`) as a JSON pointer (`/scans/0/key`).
fn pointer(field: &str) -> String {
    let mut out = String::new();
    for part in field.split('.') {
        let (name, rest) = part.split_once('[').unwrap_or((part, ""));
        out.push('/');
        out.push_str(name);
        for index in rest.split('[').filter(|i| !i.is_empty()) {
            out.push('/');
            out.push_str(index.trim_end_matches(']'));
        }
    }
    out
}

/// The object schema holding the last step of `pointer` below `root`, and that step's name.
fn parent_schema<'a>(doc: &'a Value, root: &'a Value, pointer: &str) -> Option<(&'a Value, String)> {
    let steps: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    let (last, walk) = steps.split_last()?;
    let mut s = resolve(doc, root);
    for step in walk {
        s = if step.parse::<usize>().is_ok() {
            resolve(doc, &s["items"])
        } else {
            resolve(doc, s["properties"].get(*step)?)
        };
    }
    Some((s, last.to_string()))
}

/// A value of the type `s` describes; objects empty and lists holding one
/// empty object, so that their own required fields come up next.
fn sample(doc: &Value, s: &Value) -> Value {
    let s = resolve(doc, s);
    let kind = |t: &str| s["type"] == t || s["type"].as_array().is_some_and(|k| k.iter().any(|k| k == t));
    if kind("array") {
        let item = resolve(doc, &s["items"]);
        if is_object_type(item) {
            json!([{}])
        } else {
            json!([sample(doc, item)])
        }
    } else if kind("integer") || kind("number") {
        json!(1)
    } else if kind("boolean") {
        json!(false)
    } else if kind("string") {
        json!("x")
    } else {
        json!({})
    }
}

/// Sets the value at `pointer` in `body`, making the objects and lists on the way.
fn put(body: &mut Value, pointer: &str, value: Value) {
    let mut at = body;
    let steps: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    for (i, step) in steps.iter().enumerate() {
        let last = i + 1 == steps.len();
        at = match step.parse::<usize>() {
            Ok(n) => {
                let list = at.as_array_mut().expect("a list on the way");
                while list.len() <= n {
                    list.push(json!({}));
                }
                &mut list[n]
            }
            Err(_) => {
                let map = at.as_object_mut().expect("an object on the way");
                map.entry(step.to_string()).or_insert_with(|| if last { Value::Null } else { json!({}) })
            }
        };
    }
    *at = value;
}

/// Fields the server requires are `required` in the request body's schema. Each
/// JSON operation is sent `{}` by the commander; every field the answer reports
/// that the body did not hold is required, and filled in for the next try, until
/// the server stops naming absent fields (nested lists are probed through one
/// item).
#[tokio::test]
async fn required_request_fields_are_required_in_the_schema() {
    let app = TestApp::new(Backend::Sqlite).await;
    let doc = openapi_doc(&app).await;
    let token = app.token(Role::Commander).await;
    let (building, _, household) = app.place().await;
    let (resident, _) = crate::support::coded_resident(&app, &token, "陈建国", 1, household).await;
    let round = app
        .api(
            Method::POST,
            "/api/v1/sampling/rounds",
            Some(&token),
            Some(json!({"name": "一轮", "buildings": [building]})),
        )
        .await;
    assert_eq!(round.status, StatusCode::CREATED, "{}", round.text());
    let round = round.json()["id"].as_i64().expect("round id");
    let group = app.get("/api/v1/groups", &token).await.json()[0]["id"].as_i64().expect("a group");
    // Required only in some cases, and said so in their description.
    let conditional = [("post /api/v1/residents", "/id_number")];
    let mut probed = 0;
    let mut bad = Vec::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        let id = if path.starts_with("/api/v1/buildings/") {
            building
        } else if path.starts_with("/api/v1/sampling/rounds/") {
            round
        } else if path.starts_with("/api/v1/groups/") {
            group
        } else if path.starts_with("/api/v1/residents/") {
            resident
        } else {
            1
        };
        let concrete = path.replace("{id}", &id.to_string()).replace("{building}", &building.to_string());
        for (method, op) in ops.as_object().expect("ops") {
            let Some(root) = op["requestBody"]["content"]["application/json"].get("schema") else { continue };
            let operation = format!("{method} {path}");
            probed += 1;
            let mut body = json!({});
            for _ in 0..30 {
                let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
                let res = app.api(m, &concrete, Some(&token), Some(body.clone())).await;
                if res.status != StatusCode::UNPROCESSABLE_ENTITY {
                    break;
                }
                let absent: Vec<String> = res.json()["error"]["fields"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f["field"].as_str().map(pointer))
                    .filter(|p| body.pointer(p).is_none())
                    .collect();
                if absent.is_empty() {
                    break;
                }
                for p in absent {
                    let Some((parent, name)) = parent_schema(&doc, root, &p) else {
                        bad.push(format!("{operation}: requires {p}, which its schema does not have"));
                        put(&mut body, &p, json!("x"));
                        continue;
                    };
                    let required = parent["required"].as_array().is_some_and(|r| r.iter().any(|n| *n == name));
                    if !required && !conditional.contains(&(operation.as_str(), p.as_str())) {
                        bad.push(format!("{operation}: {p} is required but not marked so"));
                    }
                    put(&mut body, &p, sample(&doc, &parent["properties"][&name]));
                }
            }
        }
    }
    assert!(probed >= 15, "only {probed} JSON request bodies");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    app.finish().await;
}

/// Property names an object schema declares, its `allOf` parts' included.
fn declared<'a>(doc: &'a Value, s: &'a Value, out: &mut std::collections::BTreeSet<&'a str>) -> bool {
    let s = resolve(doc, s);
    let mut closed = s.get("additionalProperties").is_none_or(|a| *a == Value::Bool(false));
    out.extend(s["properties"].as_object().into_iter().flatten().map(|(k, _)| k.as_str()));
    for part in s["allOf"].as_array().into_iter().flatten() {
        closed &= declared(doc, part, out);
    }
    closed
}

/// Records in `errs` where `v` does not match the schema `s`: its types, required
/// properties, undeclared properties (of closed objects), items and tuples.
fn conform(doc: &Value, s: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
    conform_part(doc, s, v, at, errs, true);
}

/// [`conform`]; `whole` is false for a part of an `allOf`, whose object holds the other parts' properties too.
fn conform_part(doc: &Value, s: &Value, v: &Value, at: &str, errs: &mut Vec<String>, whole: bool) {
    let s = resolve(doc, s);
    for part in s["allOf"].as_array().into_iter().flatten() {
        conform_part(doc, part, v, at, errs, false);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = s[key].as_array() {
            let fits = options.iter().any(|o| {
                let mut e = Vec::new();
                conform(doc, o, v, at, &mut e);
                e.is_empty()
            });
            if !fits {
                errs.push(format!("{at}: {v} fits none of {key} {}", s[key]));
            }
        }
    }
    let types: Vec<&str> = match &s["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let is = |t: &str| match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => false,
    };
    if !types.is_empty() && !types.iter().any(|t| is(t)) {
        errs.push(format!("{at}: {v} is not {types:?}"));
        return;
    }
    if let Some(map) = v.as_object() {
        for name in s["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if !map.contains_key(name) {
                errs.push(format!("{at}: no {name}"));
            }
        }
        for (name, value) in map {
            if let Some(p) = s["properties"].get(name) {
                conform(doc, p, value, &format!("{at}.{name}"), errs);
            } else if s["additionalProperties"].is_object() {
                conform(doc, &s["additionalProperties"], value, &format!("{at}.{name}"), errs);
            }
        }
        let mut names = std::collections::BTreeSet::new();
        let object = is_object_type(s) || s.get("allOf").is_some();
        if whole && object && declared(doc, s, &mut names) {
            for name in map.keys().filter(|k| !names.contains(k.as_str())) {
                errs.push(format!("{at}: {name} is not in the schema"));
            }
        }
    }
    if let Some(items) = v.as_array() {
        let prefix = s["prefixItems"].as_array();
        for (i, item) in items.iter().enumerate() {
            match prefix {
                Some(p) => match p.get(i) {
                    Some(ps) => conform(doc, ps, item, &format!("{at}[{i}]"), errs),
                    None => errs.push(format!("{at}: more than {} items", p.len())),
                },
                None if s["items"].is_object() => conform(doc, &s["items"], item, &format!("{at}[{i}]"), errs),
                None => {}
            }
        }
    }
}

/// Checks an answer's body against the schema its operation documents for its status.
fn check_answer(doc: &Value, method: &str, path: &str, res: &crate::support::Answer, errs: &mut Vec<String>) {
    let op = &doc["paths"][path][method];
    let status = res.status.as_u16().to_string();
    let at = format!("{method} {path} {status}");
    match op["responses"][&status]["content"]["application/json"].get("schema") {
        Some(schema) => conform(doc, schema, &res.json(), &at, errs),
        None => errs.push(format!("{at}: not documented")),
    }
}

/// Real answers match their documented schemas: the schemas written for the
/// store's types (see `api::schemas`) as much as the derived ones. Data is
/// made through the API (a census import, a sampling round with a scan, a lab
/// result, a retest), then every `GET` is called by the commander.
#[tokio::test]
async fn answers_match_their_documented_schemas() {
    use frontline_import::generate::{census_csv, CensusFileSpec, OutEncoding};

    let app = TestApp::new(Backend::Sqlite).await;
    let doc = openapi_doc(&app).await;
    let token = app.token(Role::Commander).await;
    let lab = app.token(Role::Lab).await;
    let errs = std::cell::RefCell::new(Vec::new());
    let send = async |method: Method, path: &str, concrete: &str, token: &str, body: Option<Value>| {
        let res = app.api(method.clone(), concrete, Some(token), body).await;
        assert!(res.status.is_success(), "{method} {concrete}: {} {}", res.status, res.text());
        if res.status != StatusCode::NO_CONTENT {
            check_answer(&doc, &method.as_str().to_lowercase(), path, &res, &mut errs.borrow_mut());
        }
        res
    };

    // Two census rounds of one compound (the second reconciles with the first).
    // And a sheet of another compound naming one person twice: a review to merge;
    // and the first one's ID number under another name: a conflict to check.
    let first_id = crate::support::id_number("350602", 1950, 1, 1, 11);
    let twice = format!(
        "姓名,身份证号,手机号,楼栋,单元,房号\n陈建国,{first_id},13800000001,3号楼,1单元,1301\n陈建国,{},13800000001,3号楼,1单元,1301\n洪华,{first_id},13900000009,5号楼,1单元,0501\n",
        crate::support::id_number("350602", 1950, 1, 1, 31)
    );
    let mut census_round = 0;
    for (compound, round, seed) in [("C", "R1", Some(7)), ("C", "R2", Some(8)), ("D", "R1", None)] {
        let mut bytes = Vec::new();
        match seed {
            Some(seed) => {
                let spec = CensusFileSpec {
                    rows: 40,
                    seed,
                    encoding: OutEncoding::Utf8Bom,
                    title_row: false,
                    messy: true,
                    residents: vec![],
                };
                census_csv(&spec, &mut bytes).expect("generate");
            }
            None => bytes.extend(twice.as_bytes()),
        }
        let req = axum::http::Request::post(format!(
            "/api/v1/census/imports?round={round}&compound={compound}&file_name=c.csv&accept_valid=true"
        ))
        .header(axum::http::header::AUTHORIZATION, format!("Bearer {token}"))
        .header(axum::http::header::CONTENT_TYPE, "application/octet-stream")
        .body(axum::body::Body::from(bytes))
        .expect("request");
        let res = app.send(req).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
        check_answer(&doc, "post", "/api/v1/census/imports", &res, &mut errs.borrow_mut());
        if compound == "C" {
            census_round = res.json()["round_id"].as_i64().expect("round id");
        }
    }
    let reviews = app.get("/api/v1/census/reviews", &token).await.json();
    let (review, keep) = (reviews[0]["id"].as_i64().expect("a review"), &reviews[0]["resident_a"]);
    let merge = format!("/api/v1/census/reviews/{review}/merge");
    send(Method::POST, "/api/v1/census/reviews/{id}/merge", &merge, &token, Some(json!({"keep": keep}))).await;
    let census_resident = keep.as_i64().expect("resident");
    let (building, _, household) = app.place().await;
    let (resident, code) = crate::support::coded_resident(&app, &token, "陈建国", 1, household).await;
    let (_, second) = crate::support::coded_resident(&app, &token, "林秀英", 2, household).await;
    // Someone left unsampled, for the missed list.
    crate::support::coded_resident(&app, &token, "黄海", 3, household).await;
    let zone = json!({"level": "controlled", "reason": "密接"});
    let zones = format!("/api/v1/buildings/{building}/zones");
    send(Method::POST, "/api/v1/buildings/{id}/zones", &zones, &token, Some(zone)).await;
    let body = json!({"name": "一轮", "pool_size": 1, "buildings": [building], "teams": [{"building": building, "team": "甲队"}]});
    let round = send(Method::POST, "/api/v1/sampling/rounds", "/api/v1/sampling/rounds", &token, Some(body)).await;
    let round = round.json()["id"].as_i64().expect("round id");
    let scan = json!({"scans": [{"key": "k1", "round": round, "tube": "ZZ0001", "resident_code": code}]});
    let res = send(Method::POST, "/api/v1/sampling/scans", "/api/v1/sampling/scans", &token, Some(scan)).await;
    assert_eq!(res.json()["results"][0]["status"], "accepted", "{}", res.text());
    let seal = "/api/v1/sampling/tubes/{code}/seal";
    send(Method::POST, seal, "/api/v1/sampling/tubes/ZZ0001/seal", &token, None).await;
    let results = json!({"results": [{"tube": "ZZ0001", "result": "abnormal"}]});
    send(Method::POST, "/api/v1/sampling/results", "/api/v1/sampling/results", &lab, Some(results)).await;
    let retests = json!({"round": round, "results": [{"resident_code": code, "result": "negative"}]});
    let res = send(Method::POST, "/api/v1/sampling/retests", "/api/v1/sampling/retests", &lab, Some(retests)).await;
    assert_eq!(res.json()[0]["status"], "cleared", "{}", res.text());
    let correction = "/api/v1/lab/tubes/{code}/correction";
    let fix = json!({"result": "negative", "reason": "录入错误"});
    let res = send(Method::POST, correction, "/api/v1/lab/tubes/ZZ0001/correction", &token, Some(fix)).await;
    assert_eq!(res.json()["affected"][0]["effect"], "retest_done", "{}", res.text());
    let scan = json!({"scans": [{"key": "k2", "round": round, "tube": "ZZ0002", "resident_code": second}]});
    send(Method::POST, "/api/v1/sampling/scans", "/api/v1/sampling/scans", &token, Some(scan)).await;

    let group = app.store().list_groups().await.expect("groups")[0].id;
    let member = "/api/v1/groups/{id}/members/{username}";
    send(Method::PUT, member, &format!("/api/v1/groups/{group}/members/staff"), &token, None).await;
    let leader = json!({"username": "staff"});
    send(Method::PUT, "/api/v1/groups/{id}/leader", &format!("/api/v1/groups/{group}/leader"), &token, Some(leader))
        .await;

    let mut gets = 0;
    let mut empty = Vec::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        if ops.get("get").is_none() || path.ends_with("openapi.json") {
            continue;
        }
        let id = if path.starts_with("/api/v1/buildings/") {
            building
        } else if path.starts_with("/api/v1/households/") {
            household
        } else if path.starts_with("/api/v1/sampling/rounds/") {
            round
        } else if path.starts_with("/api/v1/census/rounds/") {
            census_round
        } else if path.starts_with("/api/v1/groups/") {
            group
        } else if path.ends_with("/trace") {
            census_resident
        } else {
            resident
        };
        let concrete = path.replace("{id}", &id.to_string()).replace("{building}", &building.to_string());
        let res = send(Method::GET, path, &concrete, &token, None).await;
        if res.body == b"[]" {
            empty.push(path.clone());
        }
        gets += 1;
    }
    assert!(gets >= 20, "only {gets} GET routes");
    assert!(empty.is_empty(), "empty lists check nothing: {empty:?}");
    let errs = errs.into_inner();
    assert!(errs.is_empty(), "answers that differ from their schemas:\n{}", errs.join("\n"));
    app.finish().await;
}
