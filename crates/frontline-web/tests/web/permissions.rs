//! The matrix of roles × endpoints: every route answers 401 without a login,
//! its work to the roles allowed, and 403 to everyone else. Runs on both backends.

use std::collections::BTreeSet;

use crate::support::{id_number, TestApp};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use frontline_domain::access::Role;
use frontline_store::Backend;
use serde_json::{json, Value};

const ALL: &[Role] = &Role::ALL;
const PLACES: &[Role] = &[Role::Commander, Role::Deputy, Role::GroupLead, Role::Staff, Role::Volunteer];
const EDITORS: &[Role] = &[Role::Commander, Role::Deputy, Role::GroupLead, Role::Staff];
const REVEAL: &[Role] = &[Role::Commander, Role::Deputy, Role::GroupLead];
const COMMAND: &[Role] = &[Role::Commander, Role::Deputy];
const COMMANDER: &[Role] = &[Role::Commander];
const CENSUS: &[Role] = &[Role::Commander, Role::Deputy, Role::GroupLead, Role::Staff];
const REVIEW: &[Role] = &[Role::Commander, Role::Deputy, Role::GroupLead];
const SAMPLERS: &[Role] = &[Role::Commander, Role::Deputy, Role::GroupLead, Role::Staff, Role::Volunteer];
const LAB: &[Role] = &[Role::Commander, Role::Deputy, Role::Lab];
/// Those who see corrected lab results: the sampling group and the lab.
const CORRECTIONS: &[Role] = &[Role::Commander, Role::Deputy, Role::GroupLead, Role::Staff, Role::Volunteer, Role::Lab];

struct Endpoint {
    method: Method,
    path: String,
    /// The OpenAPI path this exercises (`None` for pages).
    template: Option<&'static str>,
    body: Option<fn(Role) -> Value>,
    /// A raw body (a file) instead of JSON.
    raw: Option<fn(Role) -> Vec<u8>>,
    allowed: &'static [Role],
    /// Allowed roles only need to get past the permission check (the target may not exist).
    only_not_forbidden: bool,
}

fn ep(method: Method, path: String, template: Option<&'static str>, allowed: &'static [Role]) -> Endpoint {
    Endpoint { method, path, template, body: None, raw: None, allowed, only_not_forbidden: false }
}

fn census_file(role: Role) -> Vec<u8> {
    format!("姓名,身份证号码\n矩阵{},{}\n", role.code(), id_number("350602", 1971, 1, 1, seq(role))).into_bytes()
}

fn seq(role: Role) -> u16 {
    Role::ALL.iter().position(|r| *r == role).map_or(0, |i| u16::try_from(i).unwrap_or(0)) * 2 + 101
}

fn endpoints(b: i64, h: i64, r: i64, g: i64, round: i64, sround: i64) -> Vec<Endpoint> {
    use Method as M;
    vec![
        ep(M::GET, "/api/v1/auth/me".into(), Some("/api/v1/auth/me"), ALL),
        ep(M::GET, "/api/v1/buildings".into(), Some("/api/v1/buildings"), PLACES),
        ep(M::GET, format!("/api/v1/buildings/{b}"), Some("/api/v1/buildings/{id}"), PLACES),
        ep(M::GET, format!("/api/v1/buildings/{b}/zones"), Some("/api/v1/buildings/{id}/zones"), PLACES),
        Endpoint {
            body: Some(|_| json!({"level": "sealed", "reason": "矩阵测试"})),
            ..ep(M::POST, format!("/api/v1/buildings/{b}/zones"), Some("/api/v1/buildings/{id}/zones"), COMMAND)
        },
        ep(M::GET, format!("/api/v1/households?building={b}"), Some("/api/v1/households"), PLACES),
        ep(M::GET, format!("/api/v1/households/{h}"), Some("/api/v1/households/{id}"), PLACES),
        ep(M::GET, format!("/api/v1/residents?building={b}"), Some("/api/v1/residents"), PLACES),
        ep(M::GET, format!("/api/v1/residents/{r}"), Some("/api/v1/residents/{id}"), PLACES),
        ep(M::GET, format!("/api/v1/residents/{r}?reveal=true"), Some("/api/v1/residents/{id}"), REVEAL),
        Endpoint {
            body: Some(|role| json!({"name": "矩阵", "id_number": id_number("350602", 1970, 1, 1, seq(role))})),
            ..ep(M::POST, "/api/v1/residents".into(), Some("/api/v1/residents"), EDITORS)
        },
        Endpoint {
            body: Some(|_| json!({"name": "改名"})),
            ..ep(M::PATCH, format!("/api/v1/residents/{r}"), Some("/api/v1/residents/{id}"), EDITORS)
        },
        ep(M::GET, "/api/v1/audit".into(), Some("/api/v1/audit"), COMMAND),
        ep(M::GET, "/api/v1/groups".into(), Some("/api/v1/groups"), EDITORS),
        Endpoint {
            body: Some(|role| json!({"code": format!("g_{}", role.code()), "name": format!("小组{}", role.code())})),
            ..ep(M::POST, "/api/v1/groups".into(), Some("/api/v1/groups"), COMMAND)
        },
        Endpoint {
            body: Some(|_| json!({"duty": "值守"})),
            ..ep(M::PATCH, format!("/api/v1/groups/{g}"), Some("/api/v1/groups/{id}"), COMMAND)
        },
        ep(M::GET, format!("/api/v1/groups/{g}/members"), Some("/api/v1/groups/{id}/members"), EDITORS),
        ep(M::PUT, format!("/api/v1/groups/{g}/members/lab"), Some("/api/v1/groups/{id}/members/{username}"), COMMAND),
        Endpoint {
            body: Some(|_| json!({"username": "lab"})),
            ..ep(M::PUT, format!("/api/v1/groups/{g}/leader"), Some("/api/v1/groups/{id}/leader"), COMMAND)
        },
        Endpoint {
            // The caller is no member: 422 for those allowed, 403 for the rest.
            only_not_forbidden: true,
            ..ep(
                M::DELETE,
                format!("/api/v1/groups/{g}/members/{{role}}"),
                Some("/api/v1/groups/{id}/members/{username}"),
                COMMAND,
            )
        },
        ep(M::GET, "/api/v1/users".into(), Some("/api/v1/users"), COMMANDER),
        Endpoint {
            body: Some(
                |role| json!({"username": format!("new_{}", role.code()), "password": "long enough 1", "role": "volunteer"}),
            ),
            ..ep(M::POST, "/api/v1/users".into(), Some("/api/v1/users"), COMMANDER)
        },
        Endpoint {
            body: Some(|_| json!({"team": "一队"})),
            ..ep(M::PUT, "/api/v1/users/volunteer/team".into(), Some("/api/v1/users/{username}/team"), REVIEW)
        },
        Endpoint { body: None, ..ep(M::POST, "/api/v1/auth/logout".into(), Some("/api/v1/auth/logout"), ALL) },
        Endpoint {
            raw: Some(census_file),
            ..ep(
                M::POST,
                "/api/v1/census/imports?round=R{role}&compound=C".into(),
                Some("/api/v1/census/imports"),
                CENSUS,
            )
        },
        ep(M::GET, "/api/v1/census/rounds".into(), Some("/api/v1/census/rounds"), CENSUS),
        ep(M::GET, format!("/api/v1/census/rounds/{round}"), Some("/api/v1/census/rounds/{id}"), CENSUS),
        ep(
            M::GET,
            format!("/api/v1/census/rounds/{round}/reconcile"),
            Some("/api/v1/census/rounds/{id}/reconcile"),
            CENSUS,
        ),
        ep(M::GET, "/api/v1/census/base".into(), Some("/api/v1/census/base"), CENSUS),
        ep(M::GET, "/api/v1/census/reviews".into(), Some("/api/v1/census/reviews"), CENSUS),
        ep(M::GET, "/api/v1/census/merges".into(), Some("/api/v1/census/merges"), CENSUS),
        ep(M::GET, "/api/v1/census/conflicts".into(), Some("/api/v1/census/conflicts"), CENSUS),
        Endpoint {
            only_not_forbidden: true,
            ..ep(
                M::POST,
                "/api/v1/census/conflicts/999999/resolve".into(),
                Some("/api/v1/census/conflicts/{id}/resolve"),
                REVIEW,
            )
        },
        ep(M::GET, format!("/api/v1/residents/{r}/trace"), Some("/api/v1/residents/{id}/trace"), CENSUS),
        Endpoint {
            body: Some(|_| json!({"keep": 1})),
            only_not_forbidden: true,
            ..ep(
                M::POST,
                "/api/v1/census/reviews/999999/merge".into(),
                Some("/api/v1/census/reviews/{id}/merge"),
                REVIEW,
            )
        },
        Endpoint {
            only_not_forbidden: true,
            ..ep(
                M::POST,
                "/api/v1/census/reviews/999999/keep-apart".into(),
                Some("/api/v1/census/reviews/{id}/keep-apart"),
                REVIEW,
            )
        },
        Endpoint {
            only_not_forbidden: true,
            ..ep(M::POST, "/api/v1/census/merges/999999/undo".into(), Some("/api/v1/census/merges/{id}/undo"), REVIEW)
        },
        Endpoint {
            only_not_forbidden: true,
            ..ep(
                M::POST,
                "/api/v1/census/rounds/999999/confirm".into(),
                Some("/api/v1/census/rounds/{id}/confirm"),
                CENSUS,
            )
        },
        Endpoint {
            body: Some(|_| json!({"state": "away"})),
            only_not_forbidden: true,
            ..ep(M::PUT, "/api/v1/residents/999999/departure".into(), Some("/api/v1/residents/{id}/departure"), REVIEW)
        },
        Endpoint {
            only_not_forbidden: true,
            ..ep(M::POST, "/api/v1/residents/999999/restore".into(), Some("/api/v1/residents/{id}/restore"), REVIEW)
        },
        Endpoint {
            // One name per role: a round's name is unique within its compounds.
            body: Some(|role| json!({"name": format!("矩阵轮次 {}", role.code()), "pool_size": 10, "buildings": [1]})),
            ..ep(M::POST, "/api/v1/sampling/rounds".into(), Some("/api/v1/sampling/rounds"), REVIEW)
        },
        Endpoint {
            body: Some(
                |role| json!({"scans": [{"key": format!("k-{}", role.code()), "round": 1, "tube": "ZZ0001", "resident_code": "nope"}]}),
            ),
            ..ep(M::POST, "/api/v1/sampling/scans".into(), Some("/api/v1/sampling/scans"), SAMPLERS)
        },
        ep(
            M::GET,
            format!("/api/v1/sampling/rounds/{sround}/coverage"),
            Some("/api/v1/sampling/rounds/{id}/coverage"),
            SAMPLERS,
        ),
        ep(
            M::GET,
            format!("/api/v1/sampling/rounds/{sround}/missed"),
            Some("/api/v1/sampling/rounds/{id}/missed"),
            SAMPLERS,
        ),
        Endpoint {
            body: Some(|_| json!({"results": []})),
            ..ep(M::POST, "/api/v1/sampling/results".into(), Some("/api/v1/sampling/results"), LAB)
        },
        Endpoint {
            body: Some(|_| json!({"resident_code": "nope", "reason": "bedridden"})),
            only_not_forbidden: true,
            ..ep(
                M::POST,
                format!("/api/v1/sampling/rounds/{sround}/missed"),
                Some("/api/v1/sampling/rounds/{id}/missed"),
                SAMPLERS,
            )
        },
        Endpoint {
            body: Some(|_| json!({"resident_code": "nope", "reason": "away"})),
            only_not_forbidden: true,
            ..ep(
                M::POST,
                format!("/api/v1/sampling/rounds/{sround}/exemptions"),
                Some("/api/v1/sampling/rounds/{id}/exemptions"),
                REVIEW,
            )
        },
        ep(
            M::GET,
            format!("/api/v1/sampling/rounds/{sround}/advice"),
            Some("/api/v1/sampling/rounds/{id}/advice"),
            SAMPLERS,
        ),
        Endpoint {
            body: Some(|_| json!({"round": 1, "results": []})),
            ..ep(M::POST, "/api/v1/sampling/retests".into(), Some("/api/v1/sampling/retests"), LAB)
        },
        Endpoint {
            raw: Some(|_| "样本编号,检测结果\nZZ0009,阴性\n".as_bytes().to_vec()),
            ..ep(M::POST, "/api/v1/sampling/results/import".into(), Some("/api/v1/sampling/results/import"), LAB)
        },
        Endpoint {
            only_not_forbidden: true,
            ..ep(
                M::POST,
                "/api/v1/sampling/rounds/999999/close".into(),
                Some("/api/v1/sampling/rounds/{id}/close"),
                REVIEW,
            )
        },
        Endpoint {
            only_not_forbidden: true,
            ..ep(
                M::POST,
                "/api/v1/sampling/tubes/ZZ0404/seal".into(),
                Some("/api/v1/sampling/tubes/{code}/seal"),
                SAMPLERS,
            )
        },
        ep(M::GET, "/api/v1/sampling/rounds".into(), Some("/api/v1/sampling/rounds"), SAMPLERS),
        ep(M::GET, format!("/api/v1/sampling/rounds/{sround}"), Some("/api/v1/sampling/rounds/{id}"), SAMPLERS),
        Endpoint {
            body: Some(|_| json!({"teams": []})),
            ..ep(
                M::PUT,
                format!("/api/v1/sampling/rounds/{sround}/teams"),
                Some("/api/v1/sampling/rounds/{id}/teams"),
                REVIEW,
            )
        },
        ep(
            M::GET,
            format!("/api/v1/sampling/rounds/{sround}/buildings/{b}/coverage"),
            Some("/api/v1/sampling/rounds/{id}/buildings/{building}/coverage"),
            SAMPLERS,
        ),
        ep(M::GET, format!("/sampling/rounds/{sround}/buildings/{b}"), None, SAMPLERS),
        ep(M::GET, format!("/sampling/rounds/{sround}/missed.xlsx"), None, SAMPLERS),
        ep(M::GET, "/sampling/results".into(), None, LAB),
        ep(M::GET, "/api/v1/lab/tubes".into(), Some("/api/v1/lab/tubes"), LAB),
        Endpoint {
            body: Some(|_| json!({"result": "negative", "reason": "矩阵测试"})),
            only_not_forbidden: true,
            ..ep(
                M::POST,
                "/api/v1/lab/tubes/QQ0001/correction".into(),
                Some("/api/v1/lab/tubes/{code}/correction"),
                LAB,
            )
        },
        ep(M::GET, "/api/v1/lab/corrections".into(), Some("/api/v1/lab/corrections"), CORRECTIONS),
        ep(M::GET, "/lab/tubes".into(), None, LAB),
        ep(M::GET, "/lab/corrections".into(), None, CORRECTIONS),
        ep(M::GET, "/sampling".into(), None, SAMPLERS),
        ep(M::GET, format!("/sampling/codes?building={b}"), None, EDITORS),
        ep(M::GET, format!("/sampling/rounds/{sround}"), None, SAMPLERS),
        ep(M::GET, format!("/sampling/rounds/{sround}/scan"), None, SAMPLERS),
        ep(M::GET, format!("/sampling/rounds/{sround}/missed"), None, SAMPLERS),
        ep(M::GET, format!("/sampling/rounds/{sround}/close"), None, REVIEW),
        ep(M::GET, "/census".into(), None, CENSUS),
        ep(M::GET, "/census/base".into(), None, CENSUS),
        ep(M::GET, "/census/reviews".into(), None, CENSUS),
        ep(M::GET, format!("/census/rounds/{round}"), None, CENSUS),
        ep(M::GET, "/".into(), None, ALL),
        ep(M::GET, "/buildings".into(), None, PLACES),
        ep(M::GET, format!("/buildings/{b}"), None, PLACES),
        ep(M::GET, "/residents?q=3-1".into(), None, PLACES),
        ep(M::GET, format!("/residents/{r}"), None, PLACES),
        ep(M::GET, "/audit".into(), None, COMMAND),
        ep(M::GET, "/groups".into(), None, EDITORS),
    ]
}

/// Routes anyone may call without a login.
const PUBLIC: &[&str] = &["/api/v1/openapi.json", "/api/v1/auth/login"];

async fn matrix(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (b, h, _) = app.place().await;
    let staff = app.token(Role::Staff).await;
    let created = app
        .api(
            Method::POST,
            "/api/v1/residents",
            Some(&staff),
            Some(json!({"name": "住户", "id_number": id_number("350602", 1960, 2, 2, 11), "household": h})),
        )
        .await;
    let r = created.json()["id"].as_i64().expect("resident id");
    let g = app.store().list_groups().await.expect("groups")[0].id;
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/census/imports?round=R0&compound=C")
        .header(header::AUTHORIZATION, format!("Bearer {staff}"))
        .body(Body::from(census_file(Role::Lab)))
        .expect("request");
    let imported = app.send(req).await;
    let round = imported.json()["round_id"].as_i64().expect("a round to look at");
    let lead = app.token(Role::GroupLead).await;
    let sround = app
        .api(
            Method::POST,
            "/api/v1/sampling/rounds",
            Some(&lead),
            Some(json!({"name": "R", "pool_size": 10, "buildings": [b], "teams": [{"building": b, "team": "一队"}]})),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("a sampling round");
    // The volunteer's team sweeps the building, so their work reaches its residents.
    app.store().set_user_team(&frontline_store::Actor::system("test"), "volunteer", Some("一队")).await.expect("team");
    let eps = endpoints(b, h, r, g, round, sround);

    // Every API route of the OpenAPI document is in the matrix (or public).
    let doc = app.api(Method::GET, "/api/v1/openapi.json", None, None).await.json();
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for method in ops.as_object().expect("operations").keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let covered: BTreeSet<(String, String)> =
        eps.iter().filter_map(|e| e.template.map(|t| (e.method.to_string(), t.to_string()))).collect();
    for (method, path) in &documented {
        let key = (method.clone(), path.clone());
        assert!(
            covered.contains(&key) || PUBLIC.contains(&path.as_str()),
            "{method} {path} is missing from the matrix"
        );
    }

    for e in &eps {
        let anonymous = app.send(request(e, None, Role::Commander)).await;
        if e.template.is_some() {
            assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "anonymous {} {}", e.method, e.path);
        } else {
            assert_eq!(anonymous.status, StatusCode::SEE_OTHER, "anonymous page {} {}", e.method, e.path);
            assert!(anonymous.header("location").is_some_and(|l| l.starts_with("/login")));
        }
        for role in Role::ALL {
            let token = app.token(role).await;
            let res = app.send(request(e, Some(&token), role)).await;
            if e.allowed.contains(&role) && e.only_not_forbidden {
                assert!(
                    res.status != StatusCode::FORBIDDEN && res.status != StatusCode::UNAUTHORIZED,
                    "{} {} as {}: {}",
                    e.method,
                    e.path,
                    role.code(),
                    res.status
                );
            } else if e.allowed.contains(&role) {
                assert!(
                    res.status.is_success(),
                    "{} {} as {}: {} {}",
                    e.method,
                    e.path,
                    role.code(),
                    res.status,
                    res.text()
                );
            } else {
                assert_eq!(
                    res.status,
                    StatusCode::FORBIDDEN,
                    "{} {} as {}: {}",
                    e.method,
                    e.path,
                    role.code(),
                    res.text()
                );
                if e.template.is_some() {
                    assert_eq!(res.error_code(), "forbidden");
                }
            }
        }
    }
    app.finish().await;
}

fn request(e: &Endpoint, token: Option<&str>, role: Role) -> Request<Body> {
    let mut b = Request::builder().method(e.method.clone()).uri(e.path.replace("{role}", role.code()));
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    match (e.body, e.raw) {
        (Some(body), _) => b.header(header::CONTENT_TYPE, "application/json").body(Body::from(body(role).to_string())),
        (None, Some(raw)) => b.body(Body::from(raw(role))),
        (None, None) => b.body(Body::empty()),
    }
    .expect("request")
}

#[tokio::test]
async fn roles_by_endpoints_on_sqlite() {
    matrix(Backend::Sqlite).await;
}

#[tokio::test]
async fn roles_by_endpoints_on_postgres() {
    matrix(Backend::Postgres).await;
}
