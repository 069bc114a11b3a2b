//! Journeys in a real browser (headless Chromium through chromedriver), one
//! module per journey; the helpers they share live here.

use crate::support::webdriver::Browser;
use crate::support::{TestApp, PASSWORD};
use fantoccini::key::Key;

mod census_mapping;
mod census_reconcile;
mod docs;
mod full_tube;
mod home_retest;
mod phone;
mod rounds;
mod scan;

pub async fn path_of(b: &Browser) -> String {
    b.eval("return location.pathname + location.search;").await.as_str().unwrap_or_default().to_string()
}

pub async fn text_of(b: &Browser, css: &str) -> String {
    let script = format!("var e = document.querySelector({css:?}); return e ? e.textContent.trim() : null;");
    b.eval(&script).await.as_str().unwrap_or_default().to_string()
}

/// The application served on a loopback port: its base URL and a stop switch.
pub async fn serve(
    app: &TestApp,
) -> (String, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<std::io::Result<()>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("listener");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(frontline_web::serve(listener, app.state.clone(), async move {
        let _ = stopped.await;
    }));
    (base, stop, server)
}

pub async fn log_in(b: &Browser, base: &str, user: &str) {
    b.goto(&format!("{base}/login")).await;
    b.type_into("input[name=username]", user).await;
    b.type_into("input[name=password]", &format!("{PASSWORD}{}", Key::Enter)).await;
    b.wait_until(10, "the login to finish", async |b| !path_of(b).await.starts_with("/login")).await;
}
