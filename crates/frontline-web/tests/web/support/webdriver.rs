//! A small W3C WebDriver client for browser tests: Debian's `chromedriver`
//! driving Debian's `chromium`, headless, over plain HTTP/1.0 on loopback.
//! Blocking on purpose: call it from `tokio::task::block_in_place`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// WebDriver's key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// The Enter key, as WebDriver types it.
pub const ENTER: &str = "\u{E007}";

/// A headless Chromium session.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// One request; the status and the body (read to its `Content-Length`:
/// chromedriver answers HTTP/1.1 only, and keeps the connection open a while).
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let (head_len, length) = loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "no answer"));
        }
        raw.extend_from_slice(&chunk[..n]);
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (end + 4, length);
        }
    };
    while raw.len() < head_len + length {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&raw[..head_len]).into_owned();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok((status, String::from_utf8_lossy(&raw[head_len..]).into_owned()))
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with `extra_args`.
    pub fn start(extra_args: &[String]) -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (apt-get install chromium chromium-driver)");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok((200, body)) = http(port, "GET", "/status", None) {
                if serde_json::from_str::<Value>(&body).is_ok_and(|v| v["value"]["ready"] == true) {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut args: Vec<String> = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.push("--window-size=412,915".into());
        args.extend(extra_args.iter().cloned());
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args},
        }}});
        let (status, body) = http(port, "POST", "/session", Some(&caps)).expect("new session");
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let session = v["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session ({status}): {body}"));
        Browser { driver, port, session: session.to_string() }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let full = format!("/session/{}{path}", self.session);
        let (status, text) = http(self.port, method, &full, body.as_ref()).expect("webdriver request");
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert!(status == 200, "{method} {path}: {status} {text}");
        v["value"].clone()
    }

    /// Opens `url` and waits for the page to load.
    pub fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    /// The element matching a CSS selector (fails the test if there is none).
    pub fn find(&self, css: &str) -> String {
        let v = self.call("POST", "/element", Some(json!({"using": "css selector", "value": css})));
        v[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {v}; page: {}", self.body_text())).to_string()
    }

    /// Types `text` into the element (as a keyboard, or a barcode scanner in keyboard mode, would).
    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.call("POST", &format!("/element/{id}/value"), Some(json!({ "text": text })));
    }

    /// Clicks the element.
    pub fn click(&self, css: &str) {
        let id = self.find(css);
        self.call("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    /// Runs a script in the page and returns its result.
    pub fn eval(&self, script: &str) -> Value {
        self.call("POST", "/execute/sync", Some(json!({"script": script, "args": []})))
    }

    /// The page's visible text.
    pub fn body_text(&self) -> String {
        self.eval("return document.body.innerText;").as_str().unwrap_or_default().to_string()
    }

    /// Waits up to `secs` for `ready` to hold; fails the test with `what` otherwise.
    pub fn wait_until(&self, secs: u64, what: &str, ready: impl Fn(&Browser) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !ready(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}; page: {}", self.body_text());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(self.port, "DELETE", &format!("/session/{}", self.session), None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
