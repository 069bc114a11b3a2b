//! `frontline bench …`: measurements recorded in BENCHMARKS.md, each beside a
//! baseline run on the same machine in the same run (ratios, not absolutes).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context};

use crate::cli::BenchCommand;

/// The p99 one building's coverage must stay under on the big round (ms).
const ONE_BUILDING_TARGET_MS: f64 = 5.0;

/// One measured step.
struct Step {
    what: String,
    rows: usize,
    secs: f64,
    peak_mb: Option<f64>,
}

impl Step {
    fn rate(&self) -> f64 {
        self.rows as f64 / self.secs.max(1e-9)
    }
}

fn run_timed(cmd: &mut Command) -> anyhow::Result<(f64, String)> {
    let started = Instant::now();
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    let secs = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!("{cmd:?} failed: {}{}", stdout, String::from_utf8_lossy(&out.stderr));
    }
    Ok((secs, stdout))
}

fn peak_of(stdout: &str) -> Option<f64> {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("peak memory").and_then(|r| r.trim().trim_end_matches(" MB").trim().parse().ok()))
}

fn import(db: &str, file: &Path, round: &str, rows: usize, what: &str) -> anyhow::Result<Step> {
    let exe = std::env::current_exe()?;
    let (secs, out) = run_timed(
        Command::new(exe)
            .args(["--database", db, "import", "census"])
            .arg(file)
            .args(["--round", round, "--compound", "基准小区"])
            .env("FRONTLINE_LOG", "warn"),
    )?;
    Ok(Step { what: what.into(), rows, secs, peak_mb: peak_of(&out) })
}

/// Runs a `bench` subcommand and prints a Markdown table.
pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Census { rows, dir, pg } => census(rows, dir, pg),
        BenchCommand::HttpScans { residents, seconds, connections, rounds } => {
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(super::bench_http::http_scans(residents, seconds, connections, rounds))
        }
        BenchCommand::Scans { residents, batch, database } => {
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(scans(residents, batch, database))
        }
    }
}

/// A fresh database at `url` (migrated), a synthetic district of `residents`
/// seeded into it, and a round over all its buildings in pools of 10; with the
/// seconds the seeding took.
pub(super) async fn seeded_round(
    url: &str,
    residents: usize,
) -> anyhow::Result<(frontline_store::Store, frontline_store::sampling::SamplingRound, f64)> {
    use frontline_domain::date::Date;
    use frontline_domain::synth::SynthOptions;
    use frontline_store::sampling::NewRound;
    use frontline_store::{Actor, Store};

    let store = Store::connect(url).await?;
    store.migrate().await?;
    store.ensure_default_groups().await?;
    let actor = Actor::system("bench");
    let started = Instant::now();
    store
        .seed_synthetic(&actor, &SynthOptions { residents, seed: 1, today: Date::new(2022, 6, 13).context("date")? })
        .await?;
    let seed_secs = started.elapsed().as_secs_f64();
    let buildings = all_building_ids(&store).await?;
    // Named by the time it starts: a database given again (`--database`) may
    // hold an earlier run's round over the same compounds, and rounds sharing
    // a compound may not share a name.
    let new = NewRound {
        name: format!("bench {}", frontline_store::now_ms()),
        pool_size: 10,
        mode: "door_to_door".into(),
        deadline: None,
        buildings,
        teams: vec![],
    };
    let round = store.create_sampling_round(&actor, &new).await?;
    Ok((store, round, seed_secs))
}

async fn scans(residents: usize, batch: usize, database: Option<String>) -> anyhow::Result<()> {
    use frontline_store::sampling::{Scan, ScanWriter};

    let path = std::env::temp_dir().join(format!("frontline-bench-scans-{}.db", std::process::id()));
    let url = database.clone().unwrap_or_else(|| format!("sqlite://{}", path.display()));
    let (store, round, seed_secs) = seeded_round(&url, residents).await?;
    let mut ids = Vec::with_capacity(residents);
    let mut after = None;
    loop {
        let page = store.list_residents(&Default::default(), after, 500).await?;
        ids.extend(page.items.iter().map(|r| r.id));
        match page.next {
            Some(n) => after = n.parse().ok(),
            None => break,
        }
    }
    let all: Vec<Scan> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| Scan {
            key: format!("bench-{i:08}"),
            round: round.id,
            tube: format!("BT{:08}", i / 10),
            resident: Some(*id),
            refusal: None,
            at: 1,
        })
        .collect();
    let writer = ScanWriter::spawn(store.clone(), 64);
    let started = Instant::now();
    let mut accepted = 0usize;
    for chunk in all.chunks(batch.max(1)) {
        let statuses = writer.submit("bench".to_string(), chunk.to_vec()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        accepted += statuses.iter().filter(|s| **s == "accepted").count();
    }
    let ingest_secs = started.elapsed().as_secs_f64();
    if accepted != all.len() {
        bail!("only {accepted} of {} scans accepted", all.len());
    }
    if url.starts_with("postgres") {
        // Statistics after the bulk load, as autovacuum would have them a
        // little later: without them PostgreSQL plans for empty tables.
        run_timed(Command::new("psql").args([url.as_str(), "-qc", "ANALYZE"]))?;
    }
    let mut coverage_ms = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let c = store.sampling_coverage(round.id).await?;
        coverage_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        if c.sampled != i64::try_from(residents).unwrap_or(0) {
            bail!("coverage counts {} sampled", c.sampled);
        }
    }
    coverage_ms.sort_by(f64::total_cmp);
    // One building's coverage down to its households (what its page and
    // `GET …/buildings/{id}/coverage` read): up to 1,000 reads cycling over the
    // buildings, for at most 30 s (the p99 of the reads done).
    let mut one_ms = Vec::new();
    let reads_started = Instant::now();
    for (i, b) in round.buildings.iter().cycle().take(1_000).enumerate() {
        let t = Instant::now();
        let c = store.building_coverage_detail(round.id, *b).await?;
        one_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        if i == 0 && c.totals.sampled != c.totals.expected {
            bail!("building {b}: {} of {} sampled", c.totals.sampled, c.totals.expected);
        }
        if reads_started.elapsed().as_secs() >= 30 {
            break;
        }
    }
    one_ms.sort_by(f64::total_cmp);
    let one_p99 = one_ms[(one_ms.len() * 99).div_ceil(100) - 1];
    let one_target = if one_p99 < ONE_BUILDING_TARGET_MS { "met" } else { "NOT met" };
    // A restarted server's writer reads each open round's scope and members once, on
    // the round's first scan: that scan waits for it.
    drop(writer);
    let restarted = ScanWriter::spawn(store.clone(), 64);
    let t = Instant::now();
    let replay =
        restarted.submit("bench".to_string(), vec![all[0].clone()]).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let first_ms = t.elapsed().as_secs_f64() * 1000.0;
    if replay != ["duplicate"] {
        bail!("a replayed scan was answered {replay:?}");
    }
    println!("| step | count | seconds | rate |");
    println!("|---|---|---|---|");
    println!("| seed residents | {residents} | {seed_secs:.2} | {:.0} residents/s |", residents as f64 / seed_secs);
    println!(
        "| batch ingest ({batch} per batch, through the scan writer) | {} | {ingest_secs:.2} | {:.0} scans/s |",
        all.len(),
        all.len() as f64 / ingest_secs
    );
    println!(
        "| district coverage ({} buildings) | 5 reads | | median {:.1} ms, max {:.1} ms |",
        round.buildings.len(),
        coverage_ms[2],
        coverage_ms[4]
    );
    println!(
        "| one building's coverage, units and households | {} reads | | median {:.2} ms, p99 {one_p99:.2} ms \
         (target < {ONE_BUILDING_TARGET_MS} ms: {one_target}) |",
        one_ms.len(),
        one_ms[one_ms.len() / 2],
    );
    println!(
        "| first scan after a restart (the writer reads the round's {} members) | 1 | | {first_ms:.0} ms |",
        all.len()
    );
    store.close().await;
    if database.is_none() {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    Ok(())
}

/// Every building's id, page by page.
async fn all_building_ids(store: &frontline_store::Store) -> anyhow::Result<Vec<i64>> {
    let mut ids = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_buildings(None, after, 500).await?;
        ids.extend(page.items.iter().map(|b| b.id));
        match page.next {
            Some(n) => after = n.parse().ok(),
            None => return Ok(ids),
        }
    }
}

fn census(rows: usize, dir: Option<PathBuf>, pg: Option<String>) -> anyhow::Result<()> {
    let dir = dir.unwrap_or_else(|| std::env::temp_dir().join(format!("frontline-bench-{}", std::process::id())));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("census.csv");
    let exe = std::env::current_exe()?;
    run_timed(Command::new(&exe).args(["generate", "census-file"]).arg(&file).args([
        "--rows",
        &rows.to_string(),
        "--seed",
        "3",
    ]))?;
    let mut steps = Vec::new();

    // SQLite: frontline, then sqlite3's own .import of the same file into a bare table.
    let db = dir.join("bench.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let url = format!("sqlite://{}", db.display());
    steps.push(import(&url, &file, "R1", rows, "SQLite: frontline, first round (all created)")?);
    steps.push(import(&url, &file, "R2", rows, "SQLite: frontline, second round (all matched)")?);
    let bare = dir.join("bare.db");
    let _ = std::fs::remove_file(&bare);
    match run_timed(Command::new("sqlite3").arg(&bare).arg(".mode csv").arg(format!(".import {} t", file.display()))) {
        Ok((secs, _)) => {
            steps.push(Step { what: "SQLite: sqlite3 .import into a bare table".into(), rows, secs, peak_mb: None })
        }
        Err(e) => eprintln!("sqlite3 .import skipped: {e}"),
    }

    // PostgreSQL: frontline, then COPY of the same file into a bare table.
    if let Some(admin) = pg {
        let name = format!("frontline_bench_{}", std::process::id());
        run_timed(Command::new("psql").args([admin.as_str(), "-qc", &format!("CREATE DATABASE {name}")]))?;
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let url = format!("{base}/{name}");
        let result = (|| -> anyhow::Result<()> {
            steps.push(import(&url, &file, "R1", rows, "PostgreSQL: frontline, first round (all created)")?);
            steps.push(import(&url, &file, "R2", rows, "PostgreSQL: frontline, second round (all matched)")?);
            run_timed(Command::new("psql").args([
                url.as_str(),
                "-qc",
                "CREATE TABLE t (a text, b text, c text, d text, e text, f text, g text, h text)",
            ]))?;
            let (secs, _) = run_timed(Command::new("psql").args([
                url.as_str(),
                "-qc",
                &format!("\\copy t FROM '{}' CSV HEADER", file.display()),
            ]))?;
            steps.push(Step { what: "PostgreSQL: COPY into a bare table".into(), rows, secs, peak_mb: None });
            Ok(())
        })();
        let _ = run_timed(Command::new("psql").args([
            admin.as_str(),
            "-qc",
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        ]));
        result?;
    }

    let baseline =
        |prefix: &str| steps.iter().find(|s| s.what.starts_with(prefix) && s.what.contains("bare")).map(Step::rate);
    println!("| step | rows | seconds | rows/s | × baseline | peak RSS |");
    println!("|---|---|---|---|---|---|");
    for s in &steps {
        let base = if s.what.starts_with("SQLite") { baseline("SQLite") } else { baseline("PostgreSQL") };
        let ratio = base.filter(|_| !s.what.contains("bare")).map_or(String::new(), |b| format!("{:.2}", s.rate() / b));
        let peak = s.peak_mb.map_or(String::new(), |p| format!("{p:.0} MB"));
        println!("| {} | {} | {:.2} | {:.0} | {} | {} |", s.what, s.rows, s.secs, s.rate(), ratio, peak);
    }
    let _ = std::fs::remove_dir_all(PathBuf::from(&dir));
    Ok(())
}
