//! The scan writer: one task owns scan writes and group-commits them.

use frontline_domain::sampling::TubeCode;

use crate::db::Store;
use crate::now_ms;
use crate::sampling::Scan;

/// One caller's scans waiting in the writer's queue.
struct Job {
    /// Who scanned (a tube records who opened it).
    sampler: String,
    scans: Vec<Scan>,
    /// The scans' tube codes, parsed by the caller (off the writer's thread).
    codes: Vec<Option<TubeCode>>,
    /// How many scans (they are moved out into the group).
    count: usize,
    reply: tokio::sync::oneshot::Sender<Result<Vec<&'static str>, SubmitError>>,
}

/// The scan writer: one task owns the writes and group-commits what arrived
/// meanwhile — every waiting request's scans in one transaction — answering
/// each caller only after the commit. Its queue is bounded: when full,
/// [`ScanWriter::submit`] says so at once instead of queueing without limit.
#[derive(Clone, Debug)]
pub struct ScanWriter {
    queue: tokio::sync::mpsc::Sender<Job>,
}

/// Why scans were not written.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SubmitError {
    /// The queue is full, or another writer held the database too long: try again shortly.
    #[error("the scan queue is full")]
    Busy,
    /// The writer failed (the batch was rolled back).
    #[error("scan writer: {0}")]
    Failed(String),
}

/// The most scans one commit groups.
const GROUP_SCANS: usize = 5_000;

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

/// A group's scans in order, their parsed tube codes, and who made each (a
/// tube records who opened it).
fn flatten(jobs: &mut [Job]) -> (Vec<Scan>, Vec<Option<TubeCode>>, Vec<&str>) {
    let mut scans = Vec::new();
    let mut codes = Vec::new();
    for job in jobs.iter_mut() {
        scans.append(&mut job.scans);
        codes.append(&mut job.codes);
    }
    let samplers = jobs.iter().flat_map(|j| std::iter::repeat_n(j.sampler.as_str(), j.count)).collect();
    (scans, codes, samplers)
}

/// Answers each job of a group with its own statuses, or the group's error.
fn answer(jobs: Vec<Job>, result: Result<Vec<&'static str>, SubmitError>) {
    match result {
        Ok(statuses) => {
            let mut statuses = statuses.into_iter();
            for job in jobs {
                let mine: Vec<&'static str> = statuses.by_ref().take(job.count).collect();
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

impl ScanWriter {
    /// Starts the writer: on a SQLite file, a dedicated thread with its own
    /// connection; otherwise a task on the current runtime writing through the
    /// store's pool.
    pub fn spawn(store: Store, queue_jobs: usize) -> ScanWriter {
        let (tx, rx) = tokio::sync::mpsc::channel::<Job>(queue_jobs.max(1));
        match store.sqlite_path().map(std::path::Path::to_path_buf) {
            Some(path) => spawn_thread(path, rx),
            None => spawn_task(store, rx),
        }
        ScanWriter { queue: tx }
    }

    /// Queues scans made by the account named `sampler` and waits until they
    /// are committed; statuses in order.
    pub async fn submit(&self, sampler: String, scans: Vec<Scan>) -> Result<Vec<&'static str>, SubmitError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let codes = super::decide::parse_codes(&scans);
        let count = scans.len();
        self.queue.try_send(Job { sampler, scans, codes, count, reply }).map_err(|_| SubmitError::Busy)?;
        answer.await.map_err(|_| SubmitError::Failed("writer stopped".into()))?
    }
}

fn spawn_task(store: Store, mut rx: tokio::sync::mpsc::Receiver<Job>) {
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut jobs = take_group(first, &mut rx);
            let (scans, codes, samplers) = flatten(&mut jobs);
            let result =
                store.record_group(&samplers, &scans, &codes).await.map_err(|e| SubmitError::Failed(e.to_string()));
            answer(jobs, result);
        }
    });
}

fn spawn_thread(path: std::path::PathBuf, mut rx: tokio::sync::mpsc::Receiver<Job>) {
    let run = move || {
        let mut conn = match super::sqlite_thread::open(&path) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::error!(error = %e, path = %path.display(), "the scan writer cannot open the database");
                None
            }
        };
        let mut rounds = super::sqlite_thread::Rounds::default();
        while let Some(first) = rx.blocking_recv() {
            let mut jobs = take_group(first, &mut rx);
            let (scans, codes, samplers) = flatten(&mut jobs);
            let result = match conn.as_mut() {
                Some(c) => {
                    super::sqlite_thread::record(c, &mut rounds, &samplers, &scans, &codes, now_ms()).map_err(|e| {
                        // Another writer (a census import) held the database longer than the
                        // writer waits: the phones are told to try again shortly.
                        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) {
                            SubmitError::Busy
                        } else {
                            SubmitError::Failed(e.to_string())
                        }
                    })
                }
                None => Err(SubmitError::Failed("the scan writer has no database connection".to_string())),
            };
            answer(jobs, result);
        }
    };
    if let Err(e) = std::thread::Builder::new().name("scan-writer".into()).spawn(run) {
        tracing::error!(error = %e, "cannot start the scan writer thread");
    }
}
