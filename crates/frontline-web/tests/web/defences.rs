//! The web's standard defences: security headers on every answer, templates
//! without inline script, no open redirect through `next`, and a server that
//! slow or numerous clients cannot hold (a real listener on a loopback port).

use std::net::SocketAddr;
use std::num::{NonZeroU64, NonZeroUsize};
use std::time::Duration;

use frontline_web::WebConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::TestApp;

/// What a test waits at most for the server, so that a broken defence fails
/// instead of hanging. Not a measurement: a working server answers far sooner.
const HANG_GUARD: Duration = Duration::from_secs(10);

/// The application served on a loopback port with `config`.
struct Served {
    app: TestApp,
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn served(config: WebConfig) -> Served {
    let app = TestApp::with_config(frontline_store::Backend::Sqlite, config).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("listener");
    let addr = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(frontline_web::serve(listener, app.state.clone(), async move {
        let _ = stopped.await;
    }));
    Served { app, addr, stop, server }
}

impl Served {
    /// Stops the server and waits until every connection has ended.
    async fn stop(self) {
        let _ = self.stop.send(());
        let stopped = tokio::time::timeout(HANG_GUARD, self.server).await;
        stopped.expect("the server stops").expect("server task").expect("serve");
        self.app.finish().await;
    }
}

fn config(head_timeout_secs: u64, max_connections: usize) -> WebConfig {
    WebConfig {
        header_read_timeout_secs: NonZeroU64::new(head_timeout_secs).expect("non-zero"),
        max_connections: NonZeroUsize::new(max_connections).expect("non-zero"),
        ..WebConfig::default()
    }
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n";

/// Everything the server sends until it closes the connection (a reset counts as closed).
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let read = async {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return got,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(HANG_GUARD, read).await.expect("the server closes the connection")
}

/// One whole response (head and a `Content-Length` body) on a kept-alive connection.
async fn response(stream: &mut TcpStream) -> String {
    let read = async {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&got).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                if got.len() >= end + 4 + length {
                    return text;
                }
            }
            let n = stream.read(&mut buf).await.expect("read");
            assert!(n > 0, "the connection closed mid-response: {text}");
            got.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(HANG_GUARD, read).await.expect("an answer")
}

#[tokio::test]
async fn a_slow_request_head_loses_its_connection() {
    let s = served(config(1, 64)).await;
    // An ordinary request is answered, on a connection kept alive.
    let mut ok = TcpStream::connect(s.addr).await.expect("connect");
    ok.write_all(HEALTHZ).await.expect("write");
    let answer = response(&mut ok).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Half a head, never finished: the server hangs up.
    let mut slow = TcpStream::connect(s.addr).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: ").await.expect("write");
    let got = until_closed(&mut slow).await;
    assert!(!got.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&got));
    // Nothing at all: the same.
    let mut silent = TcpStream::connect(s.addr).await.expect("connect");
    assert!(!until_closed(&mut silent).await.starts_with(b"HTTP/1.1 200"));
    // And a kept-alive connection that sends no further request.
    until_closed(&mut ok).await;
    // The server still serves.
    let mut again = TcpStream::connect(s.addr).await.expect("connect");
    again.write_all(HEALTHZ).await.expect("write");
    assert!(response(&mut again).await.starts_with("HTTP/1.1 200"));
    s.stop().await;
}

/// True when nothing has arrived on `stream` (and it is still open).
fn nothing_yet(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 64];
    matches!(stream.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_their_turn() {
    // A long head timeout: the open connections hold their places throughout.
    let s = served(config(3_600, 2)).await;
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut c = TcpStream::connect(s.addr).await.expect("connect");
        c.write_all(HEALTHZ).await.expect("write");
        assert!(response(&mut c).await.starts_with("HTTP/1.1 200"));
        open.push(c);
    }
    // A third connection's request waits while two are open…
    let mut third = TcpStream::connect(s.addr).await.expect("the system queues the connection");
    third.write_all(HEALTHZ).await.expect("write");
    // (the server meanwhile answers the open ones, so it is not merely slow)
    open[1].write_all(HEALTHZ).await.expect("write");
    assert!(response(&mut open[1]).await.starts_with("HTTP/1.1 200"));
    assert!(nothing_yet(&third), "a third connection was served while two were open");
    // …and is served as soon as one of them ends.
    drop(open.remove(0));
    assert!(response(&mut third).await.starts_with("HTTP/1.1 200"));
    // Full again: a fourth waits, and is never served if the server stops first.
    let mut fourth = TcpStream::connect(s.addr).await.expect("the system queues the connection");
    fourth.write_all(HEALTHZ).await.expect("write");
    open[0].write_all(HEALTHZ).await.expect("write");
    assert!(response(&mut open[0]).await.starts_with("HTTP/1.1 200"));
    assert!(nothing_yet(&fourth), "a fourth connection was served while two were open");
    s.stop().await;
    let got = until_closed(&mut fourth).await;
    assert!(got.is_empty(), "never accepted, never answered: {}", String::from_utf8_lossy(&got));
}

#[tokio::test]
async fn handlers_see_the_client_address_and_shutdown_finishes_requests_in_flight() {
    // One failed login per minute and address: the second from 127.0.0.1 is
    // refused, which it can only be if the handler knows the address.
    let s = served(WebConfig { login_failures_per_address: 1, ..config(10, 64) }).await;
    let login = |user: &str| {
        let body = format!(r#"{{"username":"{user}","password":"wrong"}}"#);
        format!(
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let mut c = TcpStream::connect(s.addr).await.expect("connect");
    c.write_all(login("nobody-1").as_bytes()).await.expect("write");
    assert!(response(&mut c).await.starts_with("HTTP/1.1 401"));
    let mut c = TcpStream::connect(s.addr).await.expect("connect");
    c.write_all(login("nobody-2").as_bytes()).await.expect("write");
    let refused = response(&mut c).await;
    assert!(refused.starts_with("HTTP/1.1 429"), "limited by address: {refused}");
    // A request whose body is still on its way when the server is told to
    // stop: the server asks for the body (100 Continue) once the handler reads
    // it, so the request is in flight…
    let body = r#"{"username":"nobody-3","password":"wrong"}"#;
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut in_flight = TcpStream::connect(s.addr).await.expect("connect");
    in_flight.write_all(head.as_bytes()).await.expect("write");
    let mut buf = [0u8; 25];
    tokio::time::timeout(HANG_GUARD, in_flight.read_exact(&mut buf)).await.expect("asked for the body").expect("read");
    assert_eq!(&buf, b"HTTP/1.1 100 Continue\r\n\r\n");
    let _ = s.stop.send(());
    // …when the listener closes, shutdown has begun…
    let closed = async {
        while TcpStream::connect(s.addr).await.is_ok() {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(HANG_GUARD, closed).await.expect("the listener closes");
    // …and the request is still answered in full before the connection closes.
    in_flight.write_all(body.as_bytes()).await.expect("write");
    let answer = String::from_utf8_lossy(&until_closed(&mut in_flight).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 429") && answer.contains("too_many_requests"), "{answer}");
    let stopped = tokio::time::timeout(HANG_GUARD, s.server).await;
    stopped.expect("the server stops").expect("server task").expect("serve");
    s.app.finish().await;
}

// No open redirect through `next`.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use frontline_store::Backend;

use crate::support::{cookie, Answer, PASSWORD};

/// `next` values and where they must lead.
const NEXTS: &[(&str, &str)] = &[
    ("/%09/example", "/"),
    ("/%0a", "/"),
    ("/%0d%0aSet-Cookie:%20x=1", "/"),
    ("//example.com", "/"),
    ("/%5Cexample.com", "/"),
    ("/%5C%5Cexample.com", "/"),
    ("https://example.com", "/"),
    ("javascript:alert(1)", "/"),
    ("/%2509/example", "/"),
    ("/%252F/example.com", "/"),
    ("%2Fok%3Fx%3D1", "/ok?x=1"),
];

fn assert_same_site(what: &str, res: &Answer, expected: &str) {
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{what}: {}", res.text());
    let location = res.header("location").unwrap_or_else(|| panic!("{what}: no Location"));
    assert_eq!(location, expected, "{what}");
}

#[tokio::test]
async fn the_language_switch_stays_on_this_site() {
    let app = TestApp::new(Backend::Sqlite).await;
    for (next, expected) in NEXTS {
        let uri = format!("/lang/en?next={next}");
        let res = app.send(Request::get(&uri).body(Body::empty()).expect("request")).await;
        assert_same_site(&uri, &res, expected);
    }
    app.finish().await;
}

#[tokio::test]
async fn login_goes_only_to_a_path_on_this_site() {
    let app = TestApp::new(Backend::Sqlite).await;
    for (next, expected) in NEXTS {
        // The form carries `next` from the login page's address…
        let form = app.send(Request::get(format!("/login?next={next}")).body(Body::empty()).expect("req")).await;
        assert_eq!(form.status, StatusCode::OK, "{next}: {}", form.text());
        let shown = crate::support::field(&form.text(), "next").replace("&#x2f;", "/");
        assert_eq!(shown, *expected, "the login page keeps only a safe next ({next})");
        // …but the form's own field is what a forged form sends.
        let pre = cookie(&form, "frontline_login_csrf").expect("login csrf cookie");
        let req = Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, format!("frontline_login_csrf={pre}"))
            .body(Body::from(format!("username=staff&password={PASSWORD}&csrf={pre}&next={next}")))
            .expect("req");
        let res = app.send(req).await;
        assert_same_site(&format!("login with next={next}"), &res, expected);
        assert!(cookie(&res, "frontline_session").is_some(), "{next}: logged in");
    }
    app.finish().await;
}

// Security headers, and pages without inline script.

use frontline_domain::access::Role;
use serde_json::Value;

use crate::support::{browser_login, get_page};

fn assert_hardened(what: &str, res: &Answer) {
    let csp = res.header("content-security-policy").unwrap_or_else(|| panic!("{what}: no CSP"));
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.split(';').any(|d| d.trim() == directive), "{what}: CSP lacks {directive:?}: {csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{what}: {csp}");
    assert_eq!(res.header("x-content-type-options").as_deref(), Some("nosniff"), "{what}");
    assert_eq!(res.header("referrer-policy").as_deref(), Some("same-origin"), "{what}");
    assert_eq!(res.header("x-frame-options").as_deref(), Some("DENY"), "{what}");
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = TestApp::new(Backend::Sqlite).await;
    let session = browser_login(&app, "staff").await;
    let token = app.token(Role::Staff).await;
    let anonymous = |path: &str| Request::get(path).body(Body::empty()).expect("request");
    let answers = [
        ("a page", get_page(&app, &session, "/").await, StatusCode::OK),
        ("the login page", app.send(anonymous("/login")).await, StatusCode::OK),
        ("an API answer", app.get("/api/v1/auth/me", &token).await, StatusCode::OK),
        ("an API error", app.send(anonymous("/api/v1/auth/me")).await, StatusCode::UNAUTHORIZED),
        ("an unknown API route", app.get("/api/v1/nowhere", &token).await, StatusCode::NOT_FOUND),
        ("a 404 page", get_page(&app, &session, "/nowhere").await, StatusCode::NOT_FOUND),
        ("a redirect to login", app.send(anonymous("/buildings")).await, StatusCode::SEE_OTHER),
        ("the health check", app.send(anonymous("/healthz")).await, StatusCode::OK),
        ("an unknown asset", app.send(anonymous("/assets/nothing.js")).await, StatusCode::NOT_FOUND),
    ];
    for (what, res, status) in &answers {
        assert_eq!(res.status, *status, "{what}: {}", res.text());
        assert_hardened(what, res);
        assert_eq!(res.header("cache-control").as_deref(), Some("no-store"), "{what} must not be cached");
    }
    // The static assets keep their caching, and the headers.
    for path in ["/assets/app.css", "/assets/app.js", "/assets/coverage.js", "/assets/scan.js"] {
        let res = app.send(anonymous(path)).await;
        assert_eq!(res.status, StatusCode::OK, "{path}");
        assert_hardened(path, &res);
        let cache = res.header("cache-control").unwrap_or_default();
        assert!(cache.contains("max-age") && !cache.contains("no-store"), "{path}: {cache}");
    }
    app.finish().await;
}

/// Every tag of a template, from `<` to `>`, lower-cased.
fn tags(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(lt) = rest.find('<') {
        let end = rest[lt..].find('>').map_or(rest.len(), |gt| lt + gt + 1);
        out.push(rest[lt..end].to_ascii_lowercase());
        rest = &rest[end..];
    }
    out
}

/// An inline event handler (`onclick=`, `hx-on:…`) in a tag, if any.
fn event_handler(tag: &str) -> Option<String> {
    tag.split(|c: char| c.is_whitespace() || c == '"' || c == '\'').find_map(|word| {
        let name = word.split('=').next().unwrap_or_default();
        let handler = word.contains('=')
            && ((name.len() > 2 && name.starts_with("on") && name[2..].chars().all(|c| c.is_ascii_lowercase()))
                || name.starts_with("hx-on"));
        handler.then(|| word.to_string())
    })
}

#[test]
fn the_checker_finds_inline_script() {
    let bad = r#"<p onclick="x()">a</p><script>alert(1)</script><select name="b" onchange='f()'>"#;
    let found: Vec<_> = tags(bad).iter().filter_map(|t| event_handler(t)).collect();
    assert_eq!(found, ["onclick=", "onchange="]);
    assert!(tags(bad).iter().any(|t| t.starts_with("<script") && !t.contains("src=")));
    assert_eq!(event_handler(r#"<div hx-on:click="x()">"#).as_deref(), Some("hx-on:click="));
    assert_eq!(event_handler(r#"<input name="one" data-autosubmit value="{{ x }}">"#), None);
}

#[test]
fn templates_hold_no_inline_script_or_style() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("templates directory") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "html") {
            continue;
        }
        seen += 1;
        let source = std::fs::read_to_string(&path).expect("template");
        let name = path.display();
        for tag in tags(&source) {
            if tag.starts_with("<script") {
                assert!(tag.contains(" src="), "{name}: inline script {tag}; move it into assets/");
            }
            assert!(!tag.starts_with("<style"), "{name}: a <style> block; move it into assets/app.css");
            assert!(!tag.contains(" style="), "{name}: an inline style in {tag}; use a class in assets/app.css");
            assert!(!tag.contains("javascript:"), "{name}: a javascript: URL in {tag}");
            assert_eq!(event_handler(&tag), None, "{name}: an inline event handler in {tag}");
        }
    }
    assert!(seen > 10, "found only {seen} templates in {}", dir.display());
}

/// `location.pathname + location.search` of the browser's page.
async fn browser_path(b: &crate::support::webdriver::Browser) -> String {
    b.eval("return location.pathname + location.search;").await.as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_work_under_the_policy_in_a_browser() {
    use crate::support::webdriver::Browser;
    use fantoccini::key::Key;
    let s = served(WebConfig::default()).await;
    let (building, _, _) = s.app.place().await;
    let base = format!("http://{}", s.addr);
    let b = Browser::start(&[]).await;
    b.goto(&format!("{base}/login?next=/buildings")).await;
    b.type_into("input[name=username]", "group_lead").await;
    b.type_into("input[name=password]", &format!("{PASSWORD}{}", Key::Enter)).await;
    b.wait_until(10, "the login to finish", async |b| browser_path(b).await == "/buildings").await;
    // The policy is in force: an inline script put into the page does not run…
    let inline = "var s = document.createElement('script'); s.textContent = 'window.inlineRan = true;'; \
                  document.head.appendChild(s); return window.inlineRan === true;";
    assert_eq!(b.eval(inline).await, Value::Bool(false), "an inline script ran");
    // …while the page's own scripts do, and htmx injected no style element.
    assert_eq!(b.eval("return typeof window.htmx;").await, Value::from("object"), "htmx loads");
    assert_eq!(b.eval("return document.querySelectorAll('style').length;").await, Value::from(0));
    // Print, from a button rather than a javascript: link.
    b.eval("window.print = function () { window.printed = true; }; return null;").await;
    b.click("[data-print]").await;
    assert_eq!(b.eval("return window.printed === true;").await, Value::Bool(true), "the print button prints");
    // A select that sends its form when the choice changes.
    b.goto(&format!("{base}/sampling/codes")).await;
    let choose = format!(
        "var s = document.querySelector('select[data-autosubmit]'); s.value = '{building}'; \
         s.dispatchEvent(new Event('change', {{ bubbles: true }})); return null;"
    );
    b.eval(&choose).await;
    let wanted = format!("/sampling/codes?building={building}");
    b.wait_until(10, "the building's codes", async |b| browser_path(b).await == wanted).await;
    b.close().await;
    s.stop().await;
}
