//! The scan writer: one writer per process owns scan writes and group-commits
//! them, under a supervisor that restarts it.
//!
//! Which scans are accepted is decided once, for both backends, in
//! [`super::decide`]. Under it there is one thin writer per backend:
//! - SQLite: a dedicated thread with its own rusqlite connection
//!   ([`super::sqlite_thread`]);
//! - PostgreSQL: a task writing through the store's pool with multi-row
//!   statements ([`super::batch`]), serialised across instances by an advisory
//!   lock.
//!
//! The supervisor catches a panic of the writer and a connection that fails,
//! answers the group it was writing with [`SubmitError::Unavailable`] (nothing
//! of it was committed), and starts the writer again. While it is down,
//! [`ScanWriter::is_up`] says so (`/readyz` answers 503) and new scans are
//! answered at once, not queued.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use frontline_domain::sampling::TubeCode;
use futures_util::FutureExt;

use super::decide::{Part, ScanOutcome};

use crate::audit::Actor;
use crate::db::Store;
use crate::now_ms;
use crate::sampling::Scan;

/// Who submits a batch of scans, and where they may scan. The writer records
/// the batch in the audit log under this actor, keeps its idempotency keys
/// apart from every other account's, and a tube it opens is theirs to seal.
#[derive(Debug, Clone)]
pub struct Submitter {
    /// The account (its id, name and client address).
    pub actor: Actor,
    /// The buildings whose residents this account may scan; `None`: anywhere in
    /// the round's scope. A scan of anyone else is refused as `outside_assignment`.
    pub buildings: Option<std::collections::HashSet<i64>>,
}

impl Submitter {
    /// An account that may scan anywhere in a round's scope.
    pub fn anywhere(actor: Actor) -> Submitter {
        Submitter { actor, buildings: None }
    }

    /// The account its idempotency keys belong to (0 for the system, which has none).
    pub(crate) fn account(&self) -> i64 {
        self.actor.user_id.unwrap_or(0)
    }
}

/// One caller's scans waiting in the writer's queue.
struct Job {
    /// Who scanned (a tube records who opened it; the audit log, who sent the batch).
    by: Submitter,
    scans: Vec<Scan>,
    /// The scans' tube codes, parsed by the caller (off the writer's thread).
    codes: Vec<Option<TubeCode>>,
    /// How many scans (they are moved out into the group).
    count: usize,
    reply: tokio::sync::oneshot::Sender<Result<Vec<ScanOutcome>, SubmitError>>,
}

/// The scan writer's handle. Its queue is bounded: when full,
/// [`ScanWriter::submit`] says so at once instead of queueing without limit.
/// Cheap to clone; the writer stops when the last handle is dropped.
#[derive(Clone, Debug)]
pub struct ScanWriter {
    queue: tokio::sync::mpsc::Sender<Job>,
    health: Arc<Health>,
}

/// Why scans were not written. Nothing of a refused submission was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The queue is full, or another writer held the database too long: try again shortly.
    #[error("the scan queue is full")]
    Busy,
    /// The writer is down (restarting after a failure) or the database cannot
    /// be reached: try again in a few seconds.
    #[error("the scan writer is unavailable")]
    Unavailable,
    /// The writer has stopped for good (the server is shutting down).
    #[error("the scan writer has stopped")]
    Stopped,
    /// The writer failed on this group (it was rolled back).
    #[error("scan writer: {0}")]
    Failed(String),
}

/// What the supervisor and the handles share.
#[derive(Debug, Default)]
struct Health {
    /// Whether the writer is running with a working connection.
    up: AtomicBool,
    /// Test hook: the writer panics at its next group.
    #[cfg(feature = "testing")]
    crash: AtomicBool,
    /// Test hook: after a crash, the writer stays down until released.
    #[cfg(feature = "testing")]
    hold: AtomicBool,
}

impl Health {
    fn set_up(&self, up: bool) {
        if self.up.swap(up, Ordering::AcqRel) != up {
            if up {
                tracing::info!("the scan writer is up");
            } else {
                tracing::warn!("the scan writer is down");
            }
        }
    }

    /// Panics when a test asked the writer to crash.
    fn crash_if_asked(&self) {
        #[cfg(feature = "testing")]
        if self.crash.swap(false, Ordering::AcqRel) {
            panic!("the scan writer was told to crash (test hook)");
        }
    }

    /// Whether a test holds the writer down.
    fn held(&self) -> bool {
        #[cfg(feature = "testing")]
        return self.hold.load(Ordering::Acquire);
        #[cfg(not(feature = "testing"))]
        false
    }
}

/// The most scans one commit groups.
const GROUP_SCANS: usize = 5_000;

/// How long the supervisor waits before it starts a failed writer again, at
/// first and at most (doubling in between).
const RESTART_FIRST: Duration = Duration::from_millis(50);
const RESTART_MAX: Duration = Duration::from_secs(2);

/// The jobs waiting after `first`, up to [`GROUP_SCANS`] scans: one commit's worth.
fn take_group(first: Job, rx: &mut tokio::sync::mpsc::Receiver<Job>) -> Vec<Job> {
    let mut count = first.scans.len();
    let mut jobs = vec![first];
    while count < GROUP_SCANS {
        match rx.try_recv() {
            Ok(job) => {
                count += job.scans.len();
                jobs.push(job);
            }
            Err(_) => break,
        }
    }
    jobs
}

/// A group's scans in order, their parsed tube codes, and its batches: who
/// sent how many of the scans, in order (a tube records who opened it; each
/// batch is one entry of the audit log).
fn flatten(jobs: &mut [Job]) -> (Vec<Scan>, Vec<Option<TubeCode>>, Vec<Part<'_>>) {
    let mut scans = Vec::new();
    let mut codes = Vec::new();
    for job in jobs.iter_mut() {
        scans.append(&mut job.scans);
        codes.append(&mut job.codes);
    }
    let parts = jobs.iter().map(|j| Part { by: &j.by, len: j.count }).collect();
    (scans, codes, parts)
}

/// Answers each job of a group with its own statuses, or the group's error.
fn answer(jobs: Vec<Job>, result: Result<Vec<ScanOutcome>, SubmitError>) {
    match result {
        Ok(statuses) => {
            let mut statuses = statuses.into_iter();
            for job in jobs {
                let mine: Vec<ScanOutcome> = statuses.by_ref().take(job.count).collect();
                let _ = job.reply.send(Ok(mine));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, jobs = jobs.len(), "scan group failed");
            for job in jobs {
                let _ = job.reply.send(Err(e.clone()));
            }
        }
    }
}

/// What one run of a writer ended with.
enum Ended {
    /// Every handle is gone: the writer stops.
    Closed,
    /// It failed (a panic, a lost connection): the supervisor starts it again.
    Failed,
}

/// Answers every job already waiting with `Unavailable`; `false` once the queue is closed.
fn refuse_waiting(rx: &mut tokio::sync::mpsc::Receiver<Job>) -> bool {
    loop {
        match rx.try_recv() {
            Ok(job) => {
                let _ = job.reply.send(Err(SubmitError::Unavailable));
            }
            Err(tokio::sync::mpsc::error::TryRecvError::Empty) => return true,
            Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => return false,
        }
    }
}

impl ScanWriter {
    /// Starts the supervised writer: on SQLite, a dedicated thread with its own
    /// connection to the database file; on PostgreSQL, a task on the current
    /// runtime writing through the store's pool.
    pub fn spawn(store: Store, queue_jobs: usize) -> ScanWriter {
        let (tx, rx) = tokio::sync::mpsc::channel::<Job>(queue_jobs.max(1));
        // Up from the start: scans submitted while the writer opens its
        // connection wait in the queue; it is down only once it has failed.
        let health = Arc::new(Health { up: AtomicBool::new(true), ..Health::default() });
        match store.sqlite_path().map(std::path::Path::to_path_buf) {
            Some(path) => {
                let h = health.clone();
                if let Err(e) = std::thread::Builder::new()
                    .name("scan-writer".into())
                    .spawn(move || supervise_sqlite(&path, rx, &h))
                {
                    tracing::error!(error = %e, "cannot start the scan writer thread");
                }
            }
            None => {
                tokio::spawn(supervise_postgres(store, rx, health.clone()));
            }
        }
        ScanWriter { queue: tx, health }
    }

    /// Whether the writer is running with a working connection (`/readyz`).
    pub fn is_up(&self) -> bool {
        self.health.up.load(Ordering::Acquire)
    }

    /// Queues scans made by the system (a CLI command, a benchmark, under the
    /// name `sampler`) and waits until they are committed; statuses in order.
    pub async fn submit(&self, sampler: String, scans: Vec<Scan>) -> Result<Vec<&'static str>, SubmitError> {
        self.submit_as(Submitter::anywhere(Actor::system(&sampler)), scans).await
    }

    /// Queues scans sent by `by` and waits until they are committed (with the
    /// batch's entry in the audit log); statuses in order.
    pub async fn submit_as(&self, by: Submitter, scans: Vec<Scan>) -> Result<Vec<&'static str>, SubmitError> {
        Ok(self.submit_outcomes(by, scans).await?.into_iter().map(|o| o.status).collect())
    }

    /// Queues scans sent by `by` and waits until they are committed; each
    /// scan's status with its tube's fill, in order.
    pub async fn submit_outcomes(&self, by: Submitter, scans: Vec<Scan>) -> Result<Vec<ScanOutcome>, SubmitError> {
        if !self.is_up() {
            return Err(SubmitError::Unavailable);
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        let codes = super::decide::parse_codes(&scans);
        let count = scans.len();
        self.queue.try_send(Job { by, scans, codes, count, reply }).map_err(|e| match e {
            tokio::sync::mpsc::error::TrySendError::Full(_) => SubmitError::Busy,
            tokio::sync::mpsc::error::TrySendError::Closed(_) => SubmitError::Stopped,
        })?;
        // The writer dropped the reply without answering: it failed on this group.
        answer.await.map_err(|_| SubmitError::Unavailable)?
    }

    /// Waits (up to `limit`) until the writer is up; whether it is.
    pub async fn wait_up(&self, limit: Duration) -> bool {
        let until = tokio::time::Instant::now() + limit;
        while !self.is_up() {
            if tokio::time::Instant::now() >= until {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// Test hook: the writer panics at its next group (one is sent to wake
    /// it); with `hold`, it stays down until [`ScanWriter::release`].
    #[cfg(feature = "testing")]
    pub async fn crash(&self, hold: bool) {
        self.health.hold.store(hold, Ordering::Release);
        self.health.crash.store(true, Ordering::Release);
        let (reply, answer) = tokio::sync::oneshot::channel();
        let wake =
            Job { by: Submitter::anywhere(Actor::system("")), scans: Vec::new(), codes: Vec::new(), count: 0, reply };
        if self.queue.send(wake).await.is_ok() {
            let _ = answer.await;
        }
    }

    /// Test hook: lets a writer held down by [`ScanWriter::crash`] start again.
    #[cfg(feature = "testing")]
    pub fn release(&self) {
        self.health.hold.store(false, Ordering::Release);
    }
}

/// Sleeps `pause` while answering what arrives with `Unavailable`; `false`
/// once the queue is closed.
fn wait_refusing(rx: &mut tokio::sync::mpsc::Receiver<Job>, pause: Duration) -> bool {
    let until = std::time::Instant::now() + pause;
    loop {
        if !refuse_waiting(rx) {
            return false;
        }
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(Duration::from_millis(10)));
    }
}

/// The SQLite writer's supervisor, on its own thread: opens the connection,
/// runs the writer until it fails, and starts it again.
fn supervise_sqlite(path: &std::path::Path, mut rx: tokio::sync::mpsc::Receiver<Job>, health: &Health) {
    let mut pause = RESTART_FIRST;
    loop {
        while health.held() {
            if !wait_refusing(&mut rx, Duration::from_millis(10)) {
                return;
            }
        }
        let conn = match super::sqlite_thread::open(path) {
            Ok(c) => c,
            Err(e) => {
                health.set_up(false);
                tracing::error!(error = %e, path = %path.display(), "the scan writer cannot open the database");
                if !wait_refusing(&mut rx, pause) {
                    return;
                }
                pause = (pause * 2).min(RESTART_MAX);
                continue;
            }
        };
        health.set_up(true);
        pause = RESTART_FIRST;
        match run_sqlite(conn, &mut rx, health) {
            Ended::Closed => {
                health.set_up(false);
                return;
            }
            Ended::Failed => {
                health.set_up(false);
                if !wait_refusing(&mut rx, pause) {
                    return;
                }
            }
        }
    }
}

/// Writes groups on one connection until the queue closes or the writer fails.
fn run_sqlite(mut conn: rusqlite::Connection, rx: &mut tokio::sync::mpsc::Receiver<Job>, health: &Health) -> Ended {
    let mut rounds = super::sqlite_thread::Rounds::default();
    while let Some(first) = rx.blocking_recv() {
        let mut jobs = take_group(first, rx);
        let (scans, codes, parts) = flatten(&mut jobs);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            health.crash_if_asked();
            super::sqlite_thread::record(&mut conn, &mut rounds, &parts, &scans, &codes, now_ms())
        }));
        drop(parts);
        match outcome {
            Ok(Ok(statuses)) => answer(jobs, Ok(statuses)),
            Ok(Err(e)) => {
                let error = super::sqlite_thread::submit_error(&e);
                let failed = error == SubmitError::Unavailable;
                if failed {
                    // Down before anyone is answered: a caller that retries at once is told so.
                    health.set_up(false);
                }
                answer(jobs, Err(error));
                if failed {
                    return Ended::Failed;
                }
            }
            Err(_) => {
                tracing::error!("the scan writer panicked; it starts again");
                health.set_up(false);
                answer(jobs, Err(SubmitError::Unavailable));
                return Ended::Failed;
            }
        }
    }
    Ended::Closed
}

/// The PostgreSQL writer's supervisor, a task: runs groups through the pool,
/// and after a panic waits a moment (or while a test holds it down) before it
/// takes the next group. A lost connection is the pool's to replace; the
/// group it failed is answered `Unavailable`.
async fn supervise_postgres(store: Store, mut rx: tokio::sync::mpsc::Receiver<Job>, health: Arc<Health>) {
    health.set_up(true);
    while let Some(first) = rx.recv().await {
        let mut jobs = take_group(first, &mut rx);
        let (scans, codes, parts) = flatten(&mut jobs);
        let outcome = std::panic::AssertUnwindSafe(async {
            health.crash_if_asked();
            super::batch::record_group(&store, &parts, &scans, &codes, now_ms()).await
        })
        .catch_unwind()
        .await;
        drop(parts);
        match outcome {
            Ok(result) => answer(jobs, result.map_err(|e| store_submit_error(&e))),
            Err(_) => {
                tracing::error!("the scan writer panicked; it starts again");
                health.set_up(false);
                answer(jobs, Err(SubmitError::Unavailable));
                tokio::time::sleep(RESTART_FIRST).await;
                while health.held() {
                    if !refuse_waiting(&mut rx) {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                health.set_up(true);
            }
        }
    }
    health.set_up(false);
}

/// A store error as the writer's callers see it.
fn store_submit_error(e: &crate::StoreError) -> SubmitError {
    match e {
        crate::StoreError::Unavailable(_) => SubmitError::Unavailable,
        other => SubmitError::Failed(other.to_string()),
    }
}
