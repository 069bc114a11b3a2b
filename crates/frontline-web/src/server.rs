//! Serving the application on a TCP listener, with the defences a public
//! server needs against slow or numerous clients:
//!
//! - a connection that has not sent a whole request head within
//!   [`WebConfig::header_read_timeout_secs`](crate::WebConfig) is closed; this
//!   holds for the first request and for an idle keep-alive connection
//!   waiting for the next one (slowloris);
//! - at most [`WebConfig::max_connections`](crate::WebConfig) connections are
//!   open at once. Beyond that, new connections are not accepted: they wait
//!   in the kernel's backlog (and, once that is full, are refused by the
//!   kernel) until an open one ends. Waiting rather than closing them means a
//!   burst of honest clients is served late rather than sent errors, while a
//!   slow client holds its place for one head timeout at most.
//!
//! Shutdown is graceful: the listener closes, idle connections close, and
//! requests in flight finish before [`serve`] returns.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

use crate::AppState;

/// Serves the application on `listener` until `shutdown` completes; requests
/// in flight are finished before it returns. Handlers see the client's
/// address as `ConnectInfo<std::net::SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let head_timeout = Duration::from_secs(state.config().header_read_timeout_secs.get());
    let permits = Arc::new(Semaphore::new(state.config().max_connections.get()));
    let app = crate::router(state);
    let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    builder.http1().timer(TokioTimer::new()).header_read_timeout(head_timeout);
    let builder = Arc::new(builder);
    // Connections wait for `stop` to close (the signal to finish), and hold
    // `done` until they end (what shutdown waits for).
    let (stop_tx, stop_rx) = watch::channel(());
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A place first, then a connection: beyond the cap nothing is accepted.
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone().map_request(move |req: Request<Incoming>| {
            let mut req = req.map(Body::new);
            req.extensions_mut().insert(ConnectInfo(remote));
            req
        });
        tokio::spawn(connection(
            Arc::clone(&builder),
            stream,
            TowerToHyperService::new(app),
            permit,
            stop_rx.clone(),
            done_rx.clone(),
        ));
    }
    drop(listener);
    tracing::debug!("finishing open connections");
    drop(stop_tx);
    drop(stop_rx);
    drop(done_rx);
    done_tx.closed().await;
    Ok(())
}

/// Serves one connection until it ends, or until shutdown and its request in
/// flight (if any) is answered. Its place under the cap is freed on return.
async fn connection<S>(
    builder: Arc<auto::Builder<TokioExecutor>>,
    stream: TcpStream,
    service: TowerToHyperService<S>,
    permit: OwnedSemaphorePermit,
    mut stop: watch::Receiver<()>,
    done: watch::Receiver<()>,
) where
    S: tower::Service<Request<Incoming>, Response = axum::response::Response, Error = std::convert::Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    // Timeouts and clients that hang up land here too: not the server's fault.
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                break;
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
    drop(permit);
    drop(done);
}

/// After a failed `accept`: a client that went away is nothing; anything else
/// (out of file descriptors) is logged, and accepting pauses for a second so
/// that open connections can end, rather than spinning.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(e.kind(), ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset) {
        return;
    }
    tracing::error!(error = %e, "accept failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
