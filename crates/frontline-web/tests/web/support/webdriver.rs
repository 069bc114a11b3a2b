//! Browser tests' WebDriver session: Debian's `chromedriver`, started here for
//! each browser, driving Debian's `chromium` headless, through `fantoccini`
//! over plain HTTP on loopback.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

/// A headless Chromium session, with the chromedriver that runs it.
pub struct Browser {
    /// `None` once the session is closed.
    client: Option<Client>,
    driver: Child,
}

/// Starts chromedriver on a port of its choosing and returns it with that port,
/// read from the line it prints once it listens (no guessed port, no polling).
/// Its output keeps being read (and dropped) so it never blocks on a full pipe.
async fn start_driver() -> (Child, u16) {
    let mut driver = Command::new("chromedriver")
        .arg("--port=0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (apt-get install chromium chromium-driver)");
    let stdout = driver.stdout.take().expect("chromedriver's output");
    let (tell, port) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            // "ChromeDriver was started successfully on port 39011."
            let port = line
                .trim_end()
                .split_once("started successfully on port ")
                .and_then(|(_, p)| p.trim_end_matches('.').parse::<u16>().ok());
            if let Some(port) = port {
                let _ = tell.send(port);
                let _ = std::io::copy(&mut reader, &mut std::io::sink());
                return;
            }
            line.clear();
        }
    });
    match tokio::time::timeout(Duration::from_secs(30), port).await {
        Ok(Ok(port)) => (driver, port),
        Ok(Err(_)) => {
            let _ = driver.kill();
            panic!("chromedriver stopped before it listened ({:?})", driver.wait());
        }
        Err(_) => {
            let _ = driver.kill();
            let _ = driver.wait();
            panic!("chromedriver did not say it listened within 30 s");
        }
    }
}

impl Browser {
    /// Starts chromedriver and a headless Chromium, phone-sized, with `extra_args`.
    pub async fn start(extra_args: &[String]) -> Browser {
        let (mut driver, port) = start_driver().await;
        let mut args: Vec<String> = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.push("--window-size=412,915".into());
        args.extend(extra_args.iter().cloned());
        let mut caps = Capabilities::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), json!({"binary": "/usr/bin/chromium", "args": args}));
        let connected = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        match connected {
            Ok(client) => Browser { client: Some(client), driver },
            Err(e) => {
                let _ = driver.kill();
                let _ = driver.wait();
                panic!("no browser session: {e}");
            }
        }
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("an open session")
    }

    /// Opens `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.client().goto(url).await.unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The element matching a CSS selector (fails the test if there is none).
    pub async fn find(&self, css: &str) -> Element {
        match self.client().find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => panic!("no element {css}: {e}; page: {}", self.body_text().await),
        }
    }

    /// Types `text` into the element (as a keyboard, or a barcode scanner in keyboard mode, would).
    pub async fn type_into(&self, css: &str, text: &str) {
        self.find(css).await.send_keys(text).await.unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Clicks the element.
    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Runs a script in the page and returns its result.
    pub async fn eval(&self, script: &str) -> Value {
        self.client().execute(script, Vec::new()).await.unwrap_or_else(|e| panic!("script {script}: {e}"))
    }

    /// The page's visible text.
    pub async fn body_text(&self) -> String {
        self.eval("return document.body.innerText;").await.as_str().unwrap_or_default().to_string()
    }

    /// Waits up to `secs` for `ready` to hold, checking it every tenth of a
    /// second; fails the test with `what` otherwise.
    pub async fn wait_until(&self, secs: u64, what: &str, ready: impl AsyncFn(&Browser) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !ready(self).await {
            assert!(Instant::now() < deadline, "timed out waiting for {what}; page: {}", self.body_text().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Resizes the window to `width` x `height` CSS pixels (1366 for a desk, 360 for a phone).
    #[allow(dead_code)]
    pub async fn resize(&self, width: u32, height: u32) {
        self.client().set_window_size(width, height).await.unwrap_or_else(|e| panic!("resize: {e}"));
    }

    /// Saves a PNG of the visible window to `path`.
    #[allow(dead_code)]
    pub async fn screenshot(&self, path: &std::path::Path) {
        let png = self.client().screenshot().await.unwrap_or_else(|e| panic!("screenshot: {e}"));
        std::fs::write(path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// Ends the session (closing Chromium), then chromedriver.
    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            client.close().await.expect("close the browser session");
        }
        // Drop stops chromedriver.
    }
}

impl Drop for Browser {
    /// A test that fails before `close` still ends its session, so that no
    /// Chromium outlives its chromedriver: the session is closed on the
    /// multi-threaded test runtime from a blocking section.
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
                    let _ = tokio::task::block_in_place(|| handle.block_on(client.close()));
                }
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
