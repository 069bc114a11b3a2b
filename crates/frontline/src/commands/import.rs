//! `frontline import census`: a census round from the command line, with a
//! progress line on a terminal and `--json` for scripts.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context;
use frontline_domain::census::CensusRules;
use frontline_domain::date::Date;
use frontline_domain::i18n::Lang;
use frontline_import::Limits;
use frontline_store::census::ImportOptions;
use frontline_store::{now_ms, Actor, Store};

use crate::cli::ImportCensusArgs;
use crate::config::Config;

/// What the command ended with, for the exit status.
pub enum Ending {
    /// Written, or a dry run.
    Done,
    /// Refused rows kept the round from being written.
    Refused,
}

/// Runs `import census`.
pub async fn census(store: &Store, cfg: &Config, args: ImportCensusArgs) -> anyhow::Result<Ending> {
    let bytes = std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let file_name =
        args.file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "census.csv".into());
    let rules = &cfg.web.rules;
    let opts = ImportOptions {
        source: args.source.clone().unwrap_or_else(|| args.compound.clone()),
        round: args.round.clone(),
        compound: args.compound.clone(),
        file_name,
        dry_run: args.dry_run,
        accept_valid: args.accept_valid,
        today: Date::from_unix_ms(now_ms(), rules.utc_offset_minutes),
        rules: CensusRules { elderly_age: rules.elderly_age },
        scope: args.scope.map(crate::cli::ScopeArg::scope),
    };
    let terminal = std::io::stderr().is_terminal() && !args.json;
    let started = Instant::now();
    let last = AtomicU64::new(0);
    let progress = move |rows: u64| {
        if terminal && rows - last.load(Ordering::Relaxed) >= 10_000 {
            last.store(rows, Ordering::Relaxed);
            let rate = rows as f64 / started.elapsed().as_secs_f64().max(0.001);
            eprint!("\r  {rows:>10} rows  {rate:>9.0} rows/s");
        }
    };
    let outcome = frontline_web::census::run_import(
        store,
        &Actor::system("cli"),
        bytes.into(),
        opts,
        Limits::default(),
        &progress,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{} ({})", e.message(Lang::En), e.code()))?;
    if terminal {
        eprintln!();
    }
    if let Some(path) = &args.report {
        let xlsx = frontline_web::census::report_xlsx(&outcome.issues).map_err(|e| anyhow::anyhow!("report: {e}"))?;
        std::fs::write(path, xlsx).with_context(|| format!("writing {}", path.display()))?;
    }
    let s = &outcome.summary;
    if args.json {
        println!("{}", serde_json::to_string(s)?);
    } else {
        println!("rows read          {:>10}", s.rows_read);
        println!("rows skipped       {:>10}", s.rows_skipped);
        println!("residents created  {:>10}", s.residents_created);
        println!("residents matched  {:>10}", s.residents_matched);
        println!("duplicates in file {:>10}", s.duplicates_in_file);
        println!("scope              {:>10}  ({})", s.scope, s.sheet_buildings.join(", "));
        println!("gone (no row)      {:>10}", s.gone);
        println!("present, ID check  {:>10}", s.to_check);
        println!("unresolved         {:>10}", s.unresolved);
        for (code, n) in &s.refused {
            println!("refused  {code:<24} {n:>6}");
        }
        for (code, n) in &s.warnings {
            println!("warning  {code:<24} {n:>6}");
        }
        let secs = started.elapsed().as_secs_f64();
        println!("{:.0} rows/s", s.rows_read as f64 / secs.max(0.001));
        if let Some(peak) = peak_rss_mb() {
            println!("peak memory {peak:.0} MB");
        }
        match (s.dry_run, s.committed) {
            (true, _) => println!("dry run: nothing written"),
            (false, true) => println!(
                "round {} written and confirmed: {} left the base numbers",
                s.round_id.unwrap_or_default(),
                s.departed
            ),
            (false, false) => {
                println!("refused rows: nothing written (see --report; --accept-valid writes the valid rows)")
            }
        }
    }
    Ok(if !s.dry_run && !s.committed { Ending::Refused } else { Ending::Done })
}

/// The process's peak resident memory (Linux), for the benchmark.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 =
        status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kb / 1024.0)
}
