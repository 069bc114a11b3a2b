//! Rows normalised ahead of the writer: each row's cells checked and turned
//! into a census person (or a refusal), its raw cells kept as JSON for
//! traceability — on a thread of its own, a batch ahead of the database work.
//! On a SQLite file the same thread also looks the batch's documents up (see
//! [`DocumentReader`]) once the writer holds the write lock.

use std::path::Path;

use frontline_domain::census::{
    census_name, normalise_row, row_label, surviving_id_prefix, CensusPerson, CensusRules, Field, HeaderMap, RawRow,
    RowOutcome,
};
use frontline_domain::date::Date;
use tokio::sync::{mpsc, oneshot};

use super::import::{doc_number, ImportOptions, RowBatches, RowIssue};
use super::matching::{DocumentReader, Found};
use crate::error::StoreError;

/// The normalising thread of one import.
pub(super) struct Normaliser {
    batches: mpsc::Receiver<Result<PreparedBatch, String>>,
    /// Told once the writer holds the write lock (dropped unsent if it fails first).
    lock_taken: Option<oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<()>,
}

impl Normaliser {
    /// Starts normalising `rows`; with `reader` (a SQLite file), documents are looked up too.
    pub(super) fn spawn(
        mut rows: RowBatches,
        header: &HeaderMap,
        opts: &ImportOptions,
        reader: Option<&Path>,
    ) -> Normaliser {
        let (tx, batches) = mpsc::channel::<Result<PreparedBatch, String>>(4);
        let (lock_taken, lock_rx) = oneshot::channel::<()>();
        let (header, today, rules) = (header.clone(), opts.today, opts.rules);
        let mut lookups = match reader {
            Some(path) => Lookups::Waiting(path.to_path_buf(), lock_rx),
            None => Lookups::Off,
        };
        let handle = tokio::task::spawn_blocking(move || {
            while let Some(batch) = rows.blocking_recv() {
                let out = batch.and_then(|b| {
                    let rows: Vec<Prepared> =
                        b.into_iter().map(|(n, cells)| prepare(&header, n, cells, today, &rules)).collect();
                    let found = lookups.find(&rows).map_err(|e| format!("reading residents: {e}"))?;
                    Ok(PreparedBatch { rows, found })
                });
                if tx.blocking_send(out).is_err() {
                    break;
                }
            }
        });
        Normaliser { batches, lock_taken: Some(lock_taken), handle }
    }

    /// The writer holds the write lock until its commit: residents can be read from elsewhere.
    pub(super) fn write_lock_taken(&mut self) {
        if let Some(tx) = self.lock_taken.take() {
            let _ = tx.send(());
        }
    }

    /// The next batch, in the file's order; `None` after the last.
    pub(super) async fn next(&mut self) -> Option<Result<PreparedBatch, String>> {
        self.batches.recv().await
    }

    /// Waits for the thread to finish.
    pub(super) async fn join(self) -> Result<(), StoreError> {
        self.handle.await.map_err(|e| StoreError::Aborted(format!("normalising rows: {e}")))
    }
}

/// Where the normalising thread is with its document lookups.
enum Lookups {
    /// Waiting for the writer's write lock before the first lookup.
    Waiting(std::path::PathBuf, oneshot::Receiver<()>),
    Reading(DocumentReader),
    /// Lookups stay with the writer: PostgreSQL, an in-memory database, or a writer that failed.
    Off,
}

impl Lookups {
    fn find(&mut self, rows: &[Prepared]) -> rusqlite::Result<Option<Found>> {
        *self = match std::mem::replace(self, Lookups::Off) {
            // The writer dropping the sender means it failed: it reads nothing of ours.
            Lookups::Waiting(path, lock) => match lock.blocking_recv() {
                Ok(()) => Lookups::Reading(DocumentReader::open(&path)?),
                Err(_) => Lookups::Off,
            },
            other => other,
        };
        match self {
            Lookups::Reading(reader) => reader.find(rows.iter().filter_map(Prepared::doc_number)).map(Some),
            _ => Ok(None),
        }
    }
}

fn row_issue(row_number: usize, i: &frontline_domain::census::Issue, label: &(String, String)) -> RowIssue {
    RowIssue {
        name: label.0.clone(),
        address: label.1.clone(),
        row_number,
        column: i.column.map(|f| f.code().to_string()),
        column_index: i.column_index,
        value: i.value.clone(),
        code: i.code.to_string(),
        params: i.params.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect(),
        refused: i.is_refusal(),
    }
}

/// A batch of rows normalised ahead of the writer, with the residents their
/// documents name when they were looked up ahead too.
pub(super) struct PreparedBatch {
    pub(super) rows: Vec<Prepared>,
    pub(super) found: Option<Found>,
}

/// A row normalised ahead of the writer: its cells as JSON (kept for
/// traceability), its issues for the report, and what it is.
pub(super) struct Prepared {
    pub(super) row_number: usize,
    pub(super) raw: String,
    pub(super) issues: Vec<RowIssue>,
    pub(super) issues_json: Option<String>,
    pub(super) fate: PreparedFate,
    /// For a row refused because a number cell destroyed its ID number's last
    /// digits: its name and the digits that survived, to tie it to a resident.
    pub(super) tie: Option<(String, String)>,
}

// Nearly every row is a person: boxing them would allocate once more per row.
#[allow(clippy::large_enum_variant)]
pub(super) enum PreparedFate {
    Skipped,
    /// Refused, under its first refusal's code.
    Refused(&'static str),
    Person(CensusPerson),
}

impl Prepared {
    fn doc_number(&self) -> Option<&str> {
        match &self.fate {
            PreparedFate::Person(p) => doc_number(p),
            _ => None,
        }
    }
}

fn prepare(header: &HeaderMap, row_number: usize, cells: Vec<String>, today: Date, rules: &CensusRules) -> Prepared {
    let outcome = normalise_row(header, RawRow { row_number, cells: &cells }, today, rules);
    let issues: Vec<RowIssue> = match &outcome {
        // Only rows with something to report pay for their label.
        RowOutcome::Refused(issues) | RowOutcome::Person(_, issues) if !issues.is_empty() => {
            let label = row_label(header, &cells);
            issues.iter().map(|i| row_issue(row_number, i, &label)).collect()
        }
        _ => Vec::new(),
    };
    let mut tie = None;
    let fate = match outcome {
        RowOutcome::Blank | RowOutcome::Total => PreparedFate::Skipped,
        RowOutcome::Refused(issues) => {
            let first = issues.iter().find(|i| i.is_refusal());
            if let Some(i) = first.filter(|i| i.code == "id_precision_lost") {
                let name = header.column(Field::Name).and_then(|c| cells.get(c)).and_then(|n| census_name(n));
                tie = name.zip(surviving_id_prefix(&i.value));
            }
            PreparedFate::Refused(first.map_or("no_identity", |i| i.code))
        }
        RowOutcome::Person(person, _) => PreparedFate::Person(person),
    };
    let issues_json = if issues.is_empty() { None } else { serde_json::to_string(&issues).ok() };
    let raw = serde_json::to_string(&cells).unwrap_or_default();
    Prepared { row_number, raw, issues, issues_json, fate, tie }
}
