//! A test application: a fresh database, one account per role, and helpers
//! to send requests through the real router (no network, no mocks).

pub mod webdriver;

use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use frontline_domain::access::Role;
use frontline_store::accounts::NewUser;
use frontline_store::testing::TestDb;
use frontline_store::{now_ms, Actor, Backend};
use frontline_web::{auth, AppState, WebConfig};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// Every test account's password.
pub const PASSWORD: &str = "correct-horse-9";

async fn shared_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    if let Some(h) = HASH.get() {
        return h.clone();
    }
    let h = auth::hash_password(PASSWORD.to_string()).await.expect("hash");
    HASH.get_or_init(|| h).clone()
}

/// A running application over its own database.
pub struct TestApp {
    pub db: Option<TestDb>,
    pub state: AppState,
    pub router: frontline_web::App,
}

/// An HTTP answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }
    /// The `error.code` of an envelope.
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_default().to_string()
    }
}

impl TestApp {
    pub async fn new(backend: Backend) -> TestApp {
        Self::with_config(backend, WebConfig::default()).await
    }

    pub async fn with_config(backend: Backend, config: WebConfig) -> TestApp {
        let db = TestDb::new(backend).await;
        db.store.ensure_default_groups().await.expect("groups");
        let hash = shared_hash().await;
        for role in Role::ALL {
            let new = NewUser {
                username: role.code().to_string(),
                display_name: format!("{} 测试", role.code()),
                password_hash: hash.clone(),
                role,
                group_id: None,
            };
            db.store.create_user(&Actor::system("test"), &new).await.expect("user");
        }
        let state = AppState::new(db.store.clone(), config).await.expect("state");
        let router = frontline_web::router(state.clone());
        TestApp { db: Some(db), state, router }
    }

    pub fn store(&self) -> &frontline_store::Store {
        self.state.store()
    }

    /// A bearer token for the account named after `role`, without going through login.
    pub async fn token(&self, role: Role) -> String {
        let user = self.store().user_by_name(role.code()).await.expect("user");
        let token = auth::random_token().expect("token");
        self.store()
            .create_session(user.id, &auth::token_hash(&token), "api", "csrf-unused", now_ms() + 3_600_000)
            .await
            .expect("session");
        token
    }

    /// Sends a request from 127.0.0.1 (or `ip`).
    pub async fn send(&self, req: Request<Body>) -> Answer {
        self.send_from(req, "127.0.0.1:40000").await
    }

    pub async fn send_from(&self, mut req: Request<Body>, peer: &str) -> Answer {
        let addr: SocketAddr = peer.parse().expect("peer address");
        req.extensions_mut().insert(ConnectInfo(addr));
        let res = self.router.clone().oneshot(req).await.expect("infallible router");
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.expect("body").to_bytes().to_vec();
        Answer { status, headers, body }
    }

    /// A JSON request with an optional bearer token.
    pub async fn api(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(v) => b.header(header::CONTENT_TYPE, "application/json").body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        }
        .expect("request");
        self.send(req).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.api(Method::GET, path, Some(token), None).await
    }

    /// Creates compound → building → unit → two households; returns (building, household, household).
    pub async fn place(&self) -> (i64, i64, i64) {
        let a = Actor::system("test");
        let s = self.store();
        let c = s.ensure_compound(&a, "海月花园").await.expect("compound");
        let b = s.ensure_building(&a, c, "3号楼", Some(3), Some(18)).await.expect("building");
        let u = s.ensure_unit(&a, b, "1单元", Some(1)).await.expect("unit");
        let h1 = s.ensure_household(&a, u, "1301", Some(13)).await.expect("household");
        let h2 = s.ensure_household(&a, u, "1302", Some(13)).await.expect("household");
        (b, h1, h2)
    }

    pub async fn finish(mut self) {
        if let Some(db) = self.db.take() {
            db.drop_db().await;
        }
    }
}

/// A valid ID number built from parts (its check character computed by the domain).
pub fn id_number(region: &str, y: i32, m: u32, d: u32, seq: u16) -> String {
    let date = frontline_domain::date::Date::new(y, m, d).expect("date");
    frontline_domain::ids::IdNumber::from_parts(region, date, seq).as_str().to_string()
}

/// A resident created through the API in `household` (born 1980-05-05, the
/// `seq`-th of that day in region 350602): their id and sampling code.
pub async fn coded_resident(app: &TestApp, token: &str, name: &str, seq: u16, household: i64) -> (i64, String) {
    let id = id_number("350602", 1980, 5, 5, seq);
    let body = serde_json::json!({"name": name, "id_number": id, "household": household});
    let res = app.api(Method::POST, "/api/v1/residents", Some(token), Some(body)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let v = res.json();
    (v["id"].as_i64().expect("id"), v["sampling_code"].as_str().expect("code").to_string())
}

/// The value a response sets for cookie `name`.
pub fn cookie(res: &Answer, name: &str) -> Option<String> {
    res.headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|c| {
        let (k, v) = c.split(';').next()?.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// The value of the form field `name` in a page.
pub fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).map(|i| i + marker.len()).unwrap_or_else(|| panic!("no {name} field"));
    html[start..].split('"').next().unwrap_or_default().to_string()
}

/// Logs in through the login form as `user`; returns the session cookie's value.
pub async fn browser_login(app: &TestApp, user: &str) -> String {
    let form = app.send(Request::get("/login").body(Body::empty()).expect("req")).await;
    let pre = cookie(&form, "frontline_login_csrf").expect("login csrf cookie");
    let req = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("frontline_login_csrf={pre}"))
        .body(Body::from(format!("username={user}&password={PASSWORD}&csrf={pre}")))
        .expect("req");
    cookie(&app.send(req).await, "frontline_session").expect("session cookie")
}

/// A page requested with a session cookie.
pub async fn get_page(app: &TestApp, session: &str, path: impl AsRef<str>) -> Answer {
    let req = Request::get(path.as_ref())
        .header(header::COOKIE, format!("frontline_session={session}"))
        .body(Body::empty())
        .expect("req");
    app.send(req).await
}

/// A form posted with a session cookie.
pub async fn post_form(app: &TestApp, session: &str, path: impl AsRef<str>, body: String) -> Answer {
    let req = Request::post(path.as_ref())
        .header(header::COOKIE, format!("frontline_session={session}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("req");
    app.send(req).await
}

/// Puts the account `username` on team 测试队 and gives that team every
/// building of `round`: a volunteer scans only in their team's buildings.
pub async fn sweeps(app: &TestApp, username: &str, round: i64) {
    let a = Actor::system("test");
    let s = app.store();
    let buildings = s.get_sampling_round(round).await.expect("round").buildings;
    let teams: Vec<frontline_store::sampling::TeamAssignment> = buildings
        .into_iter()
        .map(|building| frontline_store::sampling::TeamAssignment { building, team: Some("测试队".into()) })
        .collect();
    s.assign_sampling_teams(&a, round, &teams).await.expect("teams");
    set_team(app, username, Some("测试队")).await;
}

/// Puts an account in a team, as the API does (sessions see it at once).
pub async fn set_team(app: &TestApp, username: &str, team: Option<&str>) {
    let user = app.store().set_user_team(&Actor::system("test"), username, team).await.expect("team");
    app.state.sessions().forget_user(user.id);
}
