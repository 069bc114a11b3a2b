//! The scan writer: one task owns scan writes and group-commits them.

use crate::audit::Actor;
use crate::db::Store;
use crate::sampling::Scan;

/// One caller's scans waiting in the writer's queue.
struct Job {
    actor: Actor,
    scans: Vec<Scan>,
    reply: tokio::sync::oneshot::Sender<Result<Vec<String>, String>>,
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
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The queue is full: try again shortly.
    #[error("the scan queue is full")]
    Busy,
    /// The writer failed (the batch was rolled back).
    #[error("scan writer: {0}")]
    Failed(String),
}

/// The most scans one commit groups.
const GROUP_SCANS: usize = 5_000;

impl ScanWriter {
    /// Starts the writer task on the current runtime.
    pub fn spawn(store: Store, queue_jobs: usize) -> ScanWriter {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Job>(queue_jobs.max(1));
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut jobs = vec![first];
                let mut count = jobs[0].scans.len();
                while count < GROUP_SCANS {
                    match rx.try_recv() {
                        Ok(job) => {
                            count += job.scans.len();
                            jobs.push(job);
                        }
                        Err(_) => break,
                    }
                }
                let all: Vec<Scan> = jobs.iter().flat_map(|j| j.scans.iter().cloned()).collect();
                // Each scan keeps its own sampler: a tube records who opened it.
                let samplers: Vec<&str> =
                    jobs.iter().flat_map(|j| std::iter::repeat_n(j.actor.name.as_str(), j.scans.len())).collect();
                let result = store.record_scans_by(&samplers, &all).await;
                match result {
                    Ok(statuses) => {
                        let mut statuses = statuses.into_iter();
                        for job in jobs {
                            let mine: Vec<String> = statuses.by_ref().take(job.scans.len()).collect();
                            let _ = job.reply.send(Ok(mine));
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, scans = all.len(), "scan group failed");
                        for job in jobs {
                            let _ = job.reply.send(Err(e.to_string()));
                        }
                    }
                }
            }
        });
        ScanWriter { queue: tx }
    }

    /// Queues scans and waits until they are committed; statuses in order.
    pub async fn submit(&self, actor: Actor, scans: Vec<Scan>) -> Result<Vec<String>, SubmitError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.queue.try_send(Job { actor, scans, reply }).map_err(|_| SubmitError::Busy)?;
        answer.await.map_err(|_| SubmitError::Failed("writer stopped".into()))?.map_err(SubmitError::Failed)
    }
}
