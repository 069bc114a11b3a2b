//! Census import orchestration shared by the web upload, the API and the CLI:
//! decode the file on a blocking thread, find the header (or use the mapping
//! saved for the source), stream the rows into the store's import, and build
//! the XLSX reports.

use std::ops::ControlFlow;

use frontline_domain::census::{detect_header_with, Field, HeaderMap};
use frontline_domain::i18n::{catalogue, Lang};
use frontline_domain::privacy::Disclosure;
use frontline_import::{for_each_row, write_xlsx, Cell, DecodeError, Limits, SheetOut};
use frontline_store::census::{BaseNumbers, ImportOptions, ImportOutcome, Reconciliation, RowIssue};
use frontline_store::{Actor, Store, StoreError};

/// Rows scanned for the header (title rows, merged cells and blank rows above it).
pub const HEADER_SCAN_ROWS: usize = 30;
const BATCH: usize = 5_000;

/// Why an import could not run.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is not a spreadsheet we can read, or is hostile.
    #[error("{0}")]
    Decode(#[from] DecodeError),
    /// No header row with a name or ID column, or a required field unmapped: the user maps the columns.
    #[error("no recognisable header ({code})")]
    Header {
        /// The header error's code (`no_identity_column`, `missing_required`, `empty`).
        code: &'static str,
        /// The first rows of the sheet, to map columns from.
        sample: Vec<Vec<String>>,
        /// The header found, when one was (its required fields incomplete), to start the mapping from.
        found: Option<HeaderMap>,
        /// The required fields no column is mapped to.
        missing: Vec<Field>,
    },
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ImportError {
    /// A stable code for the envelope and the CLI.
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::Decode(e) => e.code(),
            ImportError::Header { code, .. } => code,
            ImportError::Store(StoreError::Conflict { .. }) => "round_exists",
            ImportError::Store(StoreError::Aborted(_)) => "aborted",
            ImportError::Store(_) => "internal",
        }
    }

    /// A message for people, in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        let cat = catalogue();
        match self {
            ImportError::Decode(e) => cat.format(lang, &format!("census.decode.{}", e.code()), &e.params()),
            ImportError::Header { code, .. } => cat.text(lang, &format!("census.header.{code}")).to_string(),
            ImportError::Store(StoreError::Conflict { .. }) => cat.text(lang, "census.decode.round_exists").to_string(),
            ImportError::Store(StoreError::Aborted(why)) => {
                format!("{}: {why}", cat.text(lang, "census.decode.aborted"))
            }
            ImportError::Store(_) => cat.text(lang, "error.internal").to_string(),
        }
    }
}

type HeadSender = tokio::sync::oneshot::Sender<Result<HeaderMap, ImportError>>;

/// Turns a saved mapping (header text, field code) into fields.
fn saved_fields(saved: &[(String, String)]) -> Vec<(String, Field)> {
    saved.iter().filter_map(|(h, f)| Field::from_code(f).map(|f| (h.clone(), f))).collect()
}

/// Imports `bytes` as a census round. `progress` hears the rows read so far.
pub async fn run_import(
    store: &Store,
    actor: &Actor,
    bytes: axum::body::Bytes,
    opts: ImportOptions,
    limits: Limits,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<ImportOutcome, ImportError> {
    let saved = saved_fields(&store.census_mapping(&opts.source).await?);
    let (head_tx, head_rx) = tokio::sync::oneshot::channel::<Result<HeaderMap, ImportError>>();
    let (row_tx, row_rx) = tokio::sync::mpsc::channel::<Result<Vec<(usize, Vec<String>)>, String>>(4);
    let file_name = opts.file_name.clone();
    let reader = tokio::task::spawn_blocking(move || {
        let mut head_tx = Some(head_tx);
        let mut first: Vec<(usize, Vec<String>)> = Vec::new();
        let mut header: Option<HeaderMap> = None;
        let mut batch: Vec<(usize, Vec<String>)> = Vec::with_capacity(BATCH);
        // Decides the header from the rows seen so far and queues the data rows among them.
        let settle = |first: &mut Vec<(usize, Vec<String>)>,
                      batch: &mut Vec<(usize, Vec<String>)>,
                      head_tx: &mut Option<HeadSender>| {
            let rows: Vec<Vec<String>> = first.iter().map(|(_, r)| r.clone()).collect();
            let result = detect_header_with(&rows, HEADER_SCAN_ROWS, &saved);
            let sample = |rows: Vec<Vec<String>>| rows.into_iter().take(12).collect();
            let out = match result {
                Ok(h) if !h.missing_required().is_empty() => Err(ImportError::Header {
                    code: "missing_required",
                    sample: sample(rows),
                    missing: h.missing_required(),
                    found: Some(h),
                }),
                Ok(h) => {
                    batch.extend(first.drain(..).skip(h.header_row + 1));
                    Ok(h)
                }
                Err(e) => Err(ImportError::Header {
                    code: e.code(),
                    sample: sample(rows),
                    found: None,
                    missing: frontline_domain::census::REQUIRED_FIELDS.to_vec(),
                }),
            };
            let ok = out.as_ref().ok().cloned();
            if let Some(tx) = head_tx.take() {
                let _ = tx.send(out);
            }
            ok
        };
        let result = for_each_row(&bytes, Some(&file_name), &limits, |n, cells| {
            if header.is_none() {
                first.push((n, cells.to_vec()));
                if first.len() < HEADER_SCAN_ROWS {
                    return ControlFlow::Continue(());
                }
                header = settle(&mut first, &mut batch, &mut head_tx);
                if header.is_none() {
                    return ControlFlow::Break(());
                }
            } else {
                batch.push((n, cells.to_vec()));
            }
            if batch.len() >= BATCH && row_tx.blocking_send(Ok(std::mem::take(&mut batch))).is_err() {
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        match result {
            Err(e) => {
                match head_tx.take() {
                    Some(tx) => {
                        let _ = tx.send(Err(ImportError::Decode(e)));
                    }
                    None => {
                        let _ = row_tx.blocking_send(Err(e.to_string()));
                    }
                }
                return;
            }
            Ok(_) if header.is_none() && head_tx.is_some() => {
                if first.is_empty() {
                    if let Some(tx) = head_tx.take() {
                        let _ = tx.send(Err(ImportError::Decode(DecodeError::Empty)));
                    }
                    return;
                }
                if settle(&mut first, &mut batch, &mut head_tx).is_none() {
                    return;
                }
            }
            Ok(_) => {}
        }
        if !batch.is_empty() {
            let _ = row_tx.blocking_send(Ok(batch));
        }
    });
    let header = match head_rx.await {
        Ok(h) => h?,
        Err(_) => {
            let _ = reader.await;
            return Err(ImportError::Store(StoreError::Aborted("the file reader stopped".into())));
        }
    };
    let outcome = store.import_census(actor, &opts, &header, row_rx, progress).await;
    let _ = reader.await;
    Ok(outcome?)
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn int(n: impl TryInto<i64>) -> Cell {
    Cell::Int(n.try_into().unwrap_or(i64::MAX))
}

/// The outcome cell of a report line.
fn outcome_text(i: &RowIssue) -> &'static str {
    match i.code.as_str() {
        _ if i.refused => "拒收 refused",
        "duplicate_conflict" => "冲突 conflict",
        "duplicate_row" => "重复 duplicate",
        _ => "警告 warning",
    }
}

/// The validation report: every refused row, every warning and every duplicate
/// row (with the row it repeats), each naming the row's person and address, both languages.
pub fn report_xlsx(issues: &[RowIssue]) -> Result<Vec<u8>, frontline_import::WriteError> {
    let cat = catalogue();
    let header = [
        "行号 Row",
        "姓名 Name",
        "住址 Address",
        "列 Column",
        "原值 Value",
        "结果 Outcome",
        "原因",
        "Reason",
        "代码 Code",
    ]
    .map(String::from)
    .to_vec();
    let rows = issues
        .iter()
        .map(|i| {
            let params: Vec<(&str, String)> = i.params.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
            let column = i
                .column
                .as_ref()
                .map(|c| {
                    format!(
                        "{} {}",
                        cat.text(Lang::Zh, &format!("census.field.{c}")),
                        cat.text(Lang::En, &format!("census.field.{c}"))
                    )
                })
                .unwrap_or_default();
            let key = format!("census.issue.{}", i.code);
            vec![
                int(i.row_number),
                text(i.name.clone()),
                text(i.address.clone()),
                text(column),
                text(i.value.clone()),
                text(outcome_text(i)),
                text(cat.format(Lang::Zh, &key, &params)),
                text(cat.format(Lang::En, &key, &params)),
                text(i.code.clone()),
            ]
        })
        .collect();
    write_xlsx(&[SheetOut { name: "report".into(), header, rows }])
}

/// The reconciliation: counts per building and the people who changed.
pub fn reconcile_xlsx(rec: &Reconciliation, lang: Lang) -> Result<Vec<u8>, frontline_import::WriteError> {
    let cat = catalogue();
    let t = |k: &str| cat.text(lang, k).to_string();
    let counts_header = [
        "buildings.building",
        "census.rec.still_present",
        "census.rec.gone",
        "census.rec.new",
        "census.rec.moved",
        "census.rec.phone_changed",
        "census.rec.to_check",
        "census.rec.unresolved",
    ]
    .map(t)
    .to_vec();
    let mut counts: Vec<Vec<Cell>> = rec
        .buildings
        .iter()
        .map(|b| {
            vec![
                text(b.building.clone()),
                int(b.still_present),
                int(b.gone),
                int(b.new),
                int(b.moved),
                int(b.phone_changed),
                int(b.to_check),
                int(b.unresolved),
            ]
        })
        .collect();
    let tt = &rec.totals;
    counts.push(vec![
        text(t("census.rec.total")),
        int(tt.still_present),
        int(tt.gone),
        int(tt.new),
        int(tt.moved),
        int(tt.phone_changed),
        int(tt.to_check),
        int(tt.unresolved),
    ]);
    let people_header = [
        "census.rec.change",
        "residents.name",
        "buildings.building",
        "census.rec.before",
        "census.rec.after",
        "census.rec.old_phone",
        "census.rec.new_phone",
        "census.recon.refused_row",
        "census.recon.state",
    ]
    .map(t)
    .to_vec();
    let people = rec
        .people
        .iter()
        .map(|p| {
            vec![
                text(t(&format!("census.rec.{}", p.change))),
                text(p.name.clone()),
                text(p.building.clone()),
                text(p.before.clone().unwrap_or_default()),
                text(p.after.clone().unwrap_or_default()),
                text(p.old_phone.clone().unwrap_or_default()),
                text(p.new_phone.clone().unwrap_or_default()),
                p.row_number.map_or_else(|| text(""), int),
                text(p.state.as_ref().map(|s| t(&format!("census.recon.state_{s}"))).unwrap_or_default()),
            ]
        })
        .collect();
    write_xlsx(&[
        SheetOut { name: t("census.rec.sheet_counts"), header: counts_header, rows: counts },
        SheetOut { name: t("census.rec.sheet_people"), header: people_header, rows: people },
    ])
}

/// The base numbers: per building, per compound, and the district.
pub fn base_xlsx(
    base: &BaseNumbers,
    lang: Lang,
    round_date: impl Fn(i64) -> String,
) -> Result<Vec<u8>, frontline_import::WriteError> {
    let cat = catalogue();
    let t = |k: &str| cat.text(lang, k).to_string();
    let mut header = vec![
        t("buildings.compound"),
        t("buildings.building"),
        t("buildings.residents"),
        t("buildings.households"),
        t("census.base.away"),
    ];
    if let Some(first) = base.buildings.first().or(base.compounds.first()) {
        header.extend(first.needs.iter().map(|(code, _)| t(&format!("need.{code}"))));
    } else {
        header.extend(frontline_domain::people::SpecialNeed::ALL.iter().map(|n| t(&format!("need.{}", n.code()))));
    }
    header.push(t("census.base.round"));
    let line = |r: &frontline_store::census::BaseRow, compound: String, building: String| {
        let mut cells = vec![text(compound), text(building), int(r.residents), int(r.households), int(r.away)];
        cells.extend(r.needs.iter().map(|(_, n)| int(*n)));
        let round = match (&r.round, r.round_at) {
            (Some(name), Some(at)) => format!("{name} {}", round_date(at)),
            (None, Some(at)) => round_date(at),
            _ => String::new(),
        };
        cells.push(text(round));
        cells
    };
    let mut rows: Vec<Vec<Cell>> =
        base.buildings.iter().map(|b| line(b, b.compound.clone(), b.building.clone())).collect();
    rows.extend(base.compounds.iter().map(|c| line(c, c.compound.clone(), t("census.rec.total"))));
    rows.push(line(&base.district, t("census.base.district"), t("census.rec.total")));
    write_xlsx(&[SheetOut { name: t("census.base.title"), header, rows }])
}

/// The reconciliation as `who` may see it: phones through the reader's mask.
pub fn disclose_reconciliation(mut rec: Reconciliation, who: Disclosure) -> Reconciliation {
    for p in &mut rec.people {
        p.old_phone = p.old_phone.take().and_then(|n| who.phone(&n));
        p.new_phone = p.new_phone.take().and_then(|n| who.phone(&n));
    }
    rec
}

/// Report rows as `who` may see them: each cell's original value masked
/// (numbers and dates) unless revealed.
pub fn disclose_issues(issues: &mut [RowIssue], who: Disclosure) {
    for i in issues {
        i.value = who.text(&i.value);
        i.name = who.text(&i.name);
        i.address = who.text(&i.address);
    }
}

/// Raw census rows (as they arrived) as `who` may see them.
pub fn disclose_rows(rows: &mut [Vec<String>], who: Disclosure) {
    for cell in rows.iter_mut().flatten() {
        *cell = who.text(cell);
    }
}
