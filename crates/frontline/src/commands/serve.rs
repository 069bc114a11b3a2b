//! `frontline serve`: the web UI and API, with graceful shutdown.

use std::net::SocketAddr;

use anyhow::Context;
use frontline_store::Store;
use frontline_web::AppState;

use crate::config::Config;

/// Serves until SIGTERM or Ctrl-C; requests in flight are finished first.
/// `ready` is told the bound address (the demo prints it).
pub async fn serve(
    store: Store,
    cfg: &Config,
    ready: Option<Box<dyn FnOnce(SocketAddr) + Send>>,
) -> anyhow::Result<()> {
    let state = AppState::new(store.clone(), cfg.web.clone()).await?;
    let listener =
        tokio::net::TcpListener::bind(&cfg.listen).await.with_context(|| format!("listening on {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(listen = %addr, database = store.backend().name(), "serving");
    println!("Listening on http://{addr}");
    if let Some(ready) = ready {
        ready(addr);
    }
    frontline_web::serve(listener, state, shutdown_signal()).await.context("serving")?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
