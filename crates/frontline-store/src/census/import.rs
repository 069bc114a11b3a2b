//! Importing one census sheet as a round: normalise each row, collapse
//! duplicates within the file, find or create households, match residents by
//! document (or name + birth date + household), and write everything with the
//! raw rows in one transaction — committed, or rolled back for a dry run or
//! when a row was refused and the caller did not accept the valid rows alone.

use std::collections::HashMap;

use frontline_domain::census::{CensusPerson, Doc, HeaderMap};
use serde_json::json;
use sqlx::AnyConnection;
use tokio::sync::mpsc::Receiver;

use super::matching::{find_existing, insert_new, update_matched, Found};
use super::places::{preload_places, resolve_households, resolve_known};
use super::prepare::{Normaliser, Prepared, PreparedBatch, PreparedFate};
use super::repeats::{name_hash, report_repeat, DuplicateRow, First};
use crate::audit::{self, Actor, Change};
use crate::bulk::{Batch, V};
use crate::db::{Backend, Store};
use crate::error::StoreError;
use crate::now_ms;
use crate::places::compound_in;
use crate::FastMap;

pub use super::outcome::{ImportOptions, ImportOutcome, ImportSummary, RowIssue};

/// Rows of a sheet as they arrive: `(row number, cells)` batches, or why the file failed half-way.
pub type RowBatches = Receiver<Result<Vec<(usize, Vec<String>)>, String>>;

/// A person waiting for their resident id within a batch.
pub(super) struct Slot {
    pub(super) person: CensusPerson,
    pub(super) row_number: usize,
    pub(super) key: Key,
    pub(super) household: Option<i64>,
    pub(super) building: Option<i64>,
    pub(super) resident: Option<i64>,
    pub(super) created: bool,
}

/// What happened to one row.
enum Fate {
    Skipped,
    Refused,
    /// A person: the index of their slot, and whether this row is the first naming them.
    Person(usize, bool),
    /// A person already imported from an earlier batch of the file.
    DuplicateOf(i64),
}

pub(super) struct Ctx {
    pub(super) backend: Backend,
    pub(super) compound_id: i64,
    pub(super) round_id: i64,
    /// The sheet's columns, to name a duplicate row's person and address in the report.
    pub(super) header: HeaderMap,
    pub(super) now: i64,
    pub(super) seen: Seen,
    pub(super) buildings: HashMap<u32, i64>,
    pub(super) units: HashMap<(u32, u32), i64>,
    /// Households by (building number, unit number), then room: looked up with the
    /// row's own room text, without building a key per row.
    pub(super) households: HashMap<(u32, u32), HashMap<String, i64>>,
    pub(super) summary: ImportSummary,
    pub(super) issues: Vec<RowIssue>,
    pub(super) any_refused: bool,
    /// Matched residents whose phone this round changed.
    pub(super) phones_changed: u64,
}

/// Who a census person is, for collapsing the rows of a file that name the
/// same person: a Chinese ID number (nearly every row) packed into a `u64` —
/// 16 bytes an entry in a map of a million, instead of about 80 for a string —
/// or, for passports and people without a document, a text key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(super) enum Key {
    #[default]
    Unset,
    Id(u64),
    Other(String),
}

/// An 18-character ID number's 17 digits and check character as one number (X is 10).
fn pack_id(id: &str) -> Option<u64> {
    let id = id.as_bytes();
    if id.len() != 18 {
        return None;
    }
    let digits = id[..17].iter().try_fold(0u64, |acc, b| b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0')))?;
    let check = match id[17] {
        b @ b'0'..=b'9' => u64::from(b - b'0'),
        b'X' => 10,
        _ => return None,
    };
    Some(digits * 11 + check)
}

/// The people already imported from this file, by their [`Key`].
#[derive(Default)]
pub(super) struct Seen {
    ids: FastMap<u64, First>,
    others: FastMap<String, First>,
}

impl Seen {
    pub(super) fn get(&self, key: &Key) -> Option<&First> {
        match key {
            Key::Id(k) => self.ids.get(k),
            Key::Other(k) => self.others.get(k),
            Key::Unset => None,
        }
    }

    pub(super) fn insert(&mut self, key: &Key, id: First) {
        match key {
            Key::Id(k) => {
                self.ids.insert(*k, id);
            }
            Key::Other(k) => {
                self.others.insert(k.clone(), id);
            }
            Key::Unset => {}
        }
    }
}

fn doc_key(p: &CensusPerson, household: Option<i64>) -> Key {
    match &p.document {
        Doc::CnId(id) => pack_id(id.as_str()).map_or_else(|| Key::Other(format!("id:{}", id.as_str())), Key::Id),
        Doc::Passport(n) => Key::Other(format!("pp:{}", n.as_str())),
        Doc::None => Key::Other(format!(
            "nm:{}|{}|{}",
            p.name,
            p.birth_date.map(|d| d.to_string()).unwrap_or_default(),
            household.map(|h| h.to_string()).unwrap_or_default()
        )),
    }
}

pub(super) fn doc_number(p: &CensusPerson) -> Option<&str> {
    match &p.document {
        Doc::CnId(id) => Some(id.as_str()),
        Doc::Passport(n) => Some(n.as_str()),
        Doc::None => None,
    }
}

pub(super) fn doc_kind(p: &CensusPerson) -> &'static str {
    match &p.document {
        Doc::CnId(_) => "cn_id",
        Doc::Passport(_) => "passport",
        Doc::None => "none",
    }
}

impl Store {
    /// Imports the rows arriving on `rows` (batches of `(row number, cells)` below the header).
    /// An `Err` batch (the file failed half-way) rolls everything back.
    /// `progress` is told how many rows were read so far.
    pub async fn import_census(
        &self,
        actor: &Actor,
        opts: &ImportOptions,
        header: &HeaderMap,
        rows: RowBatches,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<ImportOutcome, StoreError> {
        // Rows are normalised on their own thread, ahead of the writer (from the start:
        // while the compound's places load, the first batches are being normalised).
        let mut normaliser = Normaliser::spawn(rows, header, opts, self.sqlite_path());
        let mut tx = self.pool.begin().await?;
        let now = now_ms();
        let (compound_id, _) = compound_in(&mut tx, &opts.compound, now).await?;
        // The round row goes first: its write takes SQLite's write lock at once.
        let round_id: i64 = sqlx::query_scalar(
            "INSERT INTO census_rounds (compound_id, name, file_name, source, committed_by, created_at, summary) \
             VALUES ($1, $2, $3, $4, $5, $6, '{}') RETURNING id",
        )
        .bind(compound_id)
        .bind(&opts.round)
        .bind(&opts.file_name)
        .bind(&opts.source)
        .bind(&actor.name)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        // The write lock is ours until the commit: residents can be read from elsewhere.
        normaliser.write_lock_taken();
        let mut ctx = Ctx {
            backend: self.backend(),
            compound_id,
            round_id,
            header: header.clone(),
            now,
            seen: Seen::default(),
            buildings: HashMap::new(),
            units: HashMap::new(),
            households: HashMap::new(),
            summary: ImportSummary { dry_run: opts.dry_run, ..Default::default() },
            issues: Vec::new(),
            any_refused: false,
            phones_changed: 0,
        };
        preload_places(&mut tx, &mut ctx).await?;
        let mut pending = census_rows(ctx.backend);
        while let Some(batch) = normaliser.next().await {
            let batch = match batch {
                Ok(b) => b,
                Err(why) => {
                    tx.rollback().await?;
                    return Err(StoreError::Aborted(why));
                }
            };
            process_batch(&mut tx, &mut ctx, batch, &mut pending).await?;
            progress(ctx.summary.rows_read);
        }
        pending.flush(&mut tx).await?;
        normaliser.join().await?;
        // A pair is a name and a phone shared without a document: only a resident created or
        // a phone changed by this round can make a new one (names never change on a match).
        if ctx.summary.residents_created > 0 || ctx.phones_changed > 0 {
            ctx.summary.likely_duplicates = flag_likely_duplicates(&mut tx, round_id, now).await?;
        }
        let extent = super::scope::settle(&mut tx, round_id, compound_id, opts.scope).await?;
        ctx.summary.scope = extent.scope.code().to_string();
        ctx.summary.sheet_buildings = extent.covered;
        ctx.summary.buildings_outside = extent.outside;
        ctx.summary.residents_returned = super::departures::close_returned(&mut tx, round_id, &actor.name, now).await?;
        // Committing a round confirms it: the people it reports gone leave the base numbers.
        let confirmed = super::departures::confirm_import(&mut tx, round_id, &actor.name, now).await?;
        ctx.summary.gone = confirmed.gone;
        ctx.summary.to_check = confirmed.to_check;
        ctx.summary.unresolved = confirmed.unresolved;
        ctx.summary.departed = confirmed.departed;
        if confirmed.departed > 0 {
            let change = Change {
                action: "census.confirm",
                entity: "census_round",
                entity_id: Some(round_id.to_string()),
                before: None,
                after: Some(json!({"departed": confirmed.departed, "gone": confirmed.ids})),
            };
            audit::record(&mut tx, actor, change).await?;
        }
        ctx.summary.duplicate_rows.sort_unstable_by_key(|d| d.row);
        ctx.issues.sort_by_key(|i| i.row_number);
        let commit = !opts.dry_run && (!ctx.any_refused || opts.accept_valid);
        ctx.summary.committed = commit;
        ctx.summary.round_id = commit.then_some(round_id);
        let summary_json = serde_json::to_string(&ctx.summary).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if commit {
            sqlx::query("UPDATE census_rounds SET summary = $1 WHERE id = $2")
                .bind(&summary_json)
                .bind(round_id)
                .execute(&mut *tx)
                .await?;
            let change = Change {
                action: "census.import",
                entity: "census_round",
                entity_id: Some(round_id.to_string()),
                before: None,
                after: Some(json!({
                    "round": opts.round, "compound": opts.compound, "file": opts.file_name,
                    // The rows themselves are in the round's summary: the audit entry keeps their count.
                    "summary": ImportSummary { duplicate_rows: Vec::new(), ..ctx.summary.clone() },
                    "duplicate_rows": ctx.summary.duplicate_rows.len(),
                })),
            };
            audit::record(&mut tx, actor, change).await?;
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(ImportOutcome { summary: ctx.summary, issues: ctx.issues })
    }
}

/// The raw rows of a batch, written while the next batch is counted (see [`process_batch`]).
fn census_rows(backend: Backend) -> Batch {
    Batch::new(
        backend,
        "INSERT INTO census_rows (round_id, row_number, raw, outcome, resident_id, household_id, building_id, phone, away, issues, \
         tie_name, tie_prefix)",
        12,
    )
    // Statements of a few hundred rows reuse their buffers; thousands allocated fresh pages each time.
    .rows_per_statement(500)
}

/// Imports one batch. The previous batch's raw rows (`pending`) are written while
/// this one is counted and its places resolved from memory — the database
/// connection's thread and this task work at once instead of in turn — and this
/// batch's raw rows are left in `pending` for the next call (or the caller's last flush).
async fn process_batch(
    conn: &mut AnyConnection,
    ctx: &mut Ctx,
    batch: PreparedBatch,
    pending: &mut Batch,
) -> Result<(), StoreError> {
    let PreparedBatch { rows, found } = batch;
    let (written, (fates, mut people, rows_out)) = tokio::join!(pending.flush(conn), async { count(ctx, rows) });
    written?;
    // 2. Households not known yet, created.
    resolve_households(conn, ctx, &mut people).await?;
    settle(conn, ctx, (fates, people, rows_out), found, pending).await
}

/// A row as written: its number, raw cells, issues, and what can tie it to a resident when refused.
type RowOut = (usize, String, Option<String>, Option<(String, String)>);
type Counted = (Vec<Fate>, Vec<Slot>, Vec<RowOut>);

/// Counts and reports a batch's rows; people wait in slots for their ids, their
/// places resolved from memory where known.
fn count(ctx: &mut Ctx, batch: Vec<Prepared>) -> Counted {
    let mut fates: Vec<Fate> = Vec::with_capacity(batch.len());
    let mut people: Vec<Slot> = Vec::new();
    let mut rows_out: Vec<RowOut> = Vec::with_capacity(batch.len());
    for row in batch {
        ctx.summary.rows_read += 1;
        for i in row.issues {
            // A refused row counts once, under its first refusal; warnings count each.
            if !i.refused {
                *ctx.summary.warnings.entry(i.code.clone()).or_default() += 1;
            }
            ctx.issues.push(i);
        }
        match row.fate {
            PreparedFate::Skipped => {
                ctx.summary.rows_skipped += 1;
                fates.push(Fate::Skipped);
            }
            PreparedFate::Refused(first) => {
                ctx.any_refused = true;
                *ctx.summary.refused.entry(first.to_string()).or_default() += 1;
                fates.push(Fate::Refused);
            }
            PreparedFate::Person(person) => {
                people.push(Slot {
                    person,
                    row_number: row.row_number,
                    key: Key::default(),
                    household: None,
                    building: None,
                    resident: None,
                    created: false,
                });
                fates.push(Fate::Person(people.len() - 1, true));
            }
        }
        rows_out.push((row.row_number, row.raw, row.issues_json, row.tie));
    }
    resolve_known(ctx, &mut people);
    (fates, people, rows_out)
}

async fn settle(
    conn: &mut AnyConnection,
    ctx: &mut Ctx,
    (mut fates, people, rows_out): Counted,
    found: Option<Found>,
    rows: &mut Batch,
) -> Result<(), StoreError> {
    // 3. People named twice, in this batch or earlier in the file, collapse onto the first.
    let mut unique: Vec<Slot> = Vec::with_capacity(people.len());
    let mut batch_keys: FastMap<Key, usize> = FastMap::default();
    let mut person_fate: Vec<Fate> = Vec::with_capacity(people.len());
    // Rows repeating an earlier row's document: (row, the earlier row, names differ).
    let mut repeats: FastMap<usize, DuplicateRow> = FastMap::default();
    for mut s in people {
        s.key = doc_key(&s.person, s.household);
        let name = name_hash(&s.person.name);
        let differ = |other: u64| name != 0 && other != 0 && name != other;
        if let Some(first) = ctx.seen.get(&s.key).copied() {
            ctx.summary.duplicates_in_file += 1;
            let conflict = differ(first.name);
            repeats.insert(s.row_number, DuplicateRow { row: s.row_number, same_as_row: first.row, conflict });
            person_fate.push(Fate::DuplicateOf(first.resident));
        } else if let Some(u) = batch_keys.get(&s.key) {
            ctx.summary.duplicates_in_file += 1;
            let first = &unique[*u];
            let conflict = differ(name_hash(&first.person.name));
            repeats.insert(s.row_number, DuplicateRow { row: s.row_number, same_as_row: first.row_number, conflict });
            person_fate.push(Fate::Person(*u, false));
        } else {
            batch_keys.insert(s.key.clone(), unique.len());
            person_fate.push(Fate::Person(unique.len(), true));
            unique.push(s);
        }
    }
    let mut person_fate = person_fate.into_iter();
    for f in &mut fates {
        if matches!(f, Fate::Person(..)) {
            *f = person_fate.next().unwrap_or(Fate::Refused);
        }
    }
    // 4. Match against residents; update the matched, create the rest.
    let existing = find_existing(conn, ctx.backend, &unique, found).await?;
    let mut new_people: Vec<usize> = Vec::new();
    for (i, slot) in unique.iter_mut().enumerate() {
        let by_key = || match &slot.key {
            Key::Other(k) => existing.get(k),
            _ => None,
        };
        let found = doc_number(&slot.person).and_then(|n| existing.get(n)).or_else(by_key);
        match found {
            Some(e) => {
                slot.resident = Some(e.id);
                ctx.summary.residents_matched += 1;
                update_matched(conn, ctx, slot, e).await?;
            }
            None => new_people.push(i),
        }
    }
    insert_new(conn, ctx, &mut unique, &new_people).await?;
    for s in &unique {
        if let Some(id) = s.resident {
            ctx.seen.insert(&s.key, First { resident: id, row: s.row_number, name: name_hash(&s.person.name) });
        }
    }
    // 5. The raw rows, each linked to the resident it made or changed: written with the next batch.
    for ((row_number, raw, mut issues, tie), fate) in rows_out.into_iter().zip(&fates) {
        let number = i64::try_from(row_number).unwrap_or(i64::MAX);
        let repeat = repeats.get(&row_number).copied();
        if let Some(dup) = repeat {
            let resident = match fate {
                Fate::DuplicateOf(id) => Some(*id),
                Fate::Person(u, false) => unique[*u].resident,
                _ => None,
            };
            issues = report_repeat(conn, ctx, dup, &raw, issues, resident).await?;
        }
        let repeated = |resident| {
            if repeat.is_some_and(|d| d.conflict) {
                ("conflict", resident)
            } else {
                ("duplicate", resident)
            }
        };
        let (outcome, resident, slot) = match fate {
            Fate::Skipped => ("skipped", None, None),
            Fate::Refused => ("refused", None, None),
            Fate::DuplicateOf(id) => {
                let (o, r) = repeated(Some(*id));
                (o, r, None)
            }
            Fate::Person(u, false) => {
                let (o, r) = repeated(unique[*u].resident);
                (o, r, None)
            }
            Fate::Person(u, true) => {
                let s = &unique[*u];
                (if s.created { "created" } else { "matched" }, s.resident, Some(s))
            }
        };
        rows.push([
            V::I(ctx.round_id),
            V::I(number),
            V::S(raw),
            V::S(outcome.into()),
            V::OptI(resident),
            V::OptI(slot.and_then(|s| s.household)),
            V::OptI(slot.and_then(|s| s.building)),
            V::OptS(slot.and_then(|s| s.person.phone.as_ref().map(|p| p.as_str().to_string()))),
            V::I(i64::from(slot.is_some_and(|s| s.person.away))),
            V::OptS(issues),
            V::OptS(tie.as_ref().map(|t| t.0.clone())),
            V::OptS(tie.map(|t| t.1)),
        ]);
    }
    Ok(())
}

/// Records pairs of this round's residents that share a name and a phone but
/// not a document: likely the same person entered twice.
async fn flag_likely_duplicates(conn: &mut AnyConnection, round_id: i64, now: i64) -> Result<u64, StoreError> {
    let result = sqlx::query(
        "INSERT INTO census_reviews (round_id, kind, resident_a, resident_b, status, created_at) \
         SELECT DISTINCT $1, 'name_phone', a.id, b.id, 'open', $2 FROM residents a \
         JOIN residents b ON b.phone_rev = a.phone_rev AND b.id > a.id AND b.name = a.name \
         WHERE a.phone_rev IN (SELECT phone_rev FROM residents WHERE phone_rev IS NOT NULL \
                               GROUP BY phone_rev HAVING COUNT(*) > 1) \
           AND (a.id IN (SELECT resident_id FROM census_rows WHERE round_id = $1 AND resident_id IS NOT NULL) \
             OR b.id IN (SELECT resident_id FROM census_rows WHERE round_id = $1 AND resident_id IS NOT NULL)) \
         ON CONFLICT (resident_a, resident_b) DO NOTHING",
    )
    .bind(round_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::{pack_id, Key, Seen};
    use crate::census::repeats::First;

    #[test]
    fn id_numbers_pack_into_distinct_numbers() {
        let x = pack_id("11010519491231002X");
        let zero = pack_id("110105194912310020");
        assert!(x.is_some() && zero.is_some());
        assert_ne!(x, zero, "X is its own check value");
        for bad in ["12345", "11010519491231002Y", "1101051949123100201"] {
            assert_eq!(pack_id(bad), None, "{bad}");
        }
        let mut seen = Seen::default();
        let id = Key::Id(x.unwrap_or_default());
        let passport = Key::Other("pp:E12345678".into());
        let first = |resident| First { resident, row: 3, name: 7 };
        seen.insert(&id, first(1));
        seen.insert(&passport, first(2));
        assert_eq!(seen.get(&id), Some(&first(1)));
        assert_eq!(seen.get(&Key::Id(zero.unwrap_or_default())), None);
        assert_eq!(seen.get(&passport), Some(&first(2)));
    }
}
