//! `frontline bench …`: measurements recorded in BENCHMARKS.md, each beside a
//! baseline run on the same machine in the same run (ratios, not absolutes).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context};

use crate::cli::BenchCommand;

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
        BenchCommand::HttpScans { residents, seconds, connections } => {
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(http_scans(residents, seconds, connections))
        }
        BenchCommand::Scans { residents, batch, database } => {
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(scans(residents, batch, database))
        }
    }
}

async fn scans(residents: usize, batch: usize, database: Option<String>) -> anyhow::Result<()> {
    use frontline_domain::date::Date;
    use frontline_domain::synth::SynthOptions;
    use frontline_store::sampling::{NewRound, Scan, ScanWriter};
    use frontline_store::{Actor, Store};

    let path = std::env::temp_dir().join(format!("frontline-bench-scans-{}.db", std::process::id()));
    let url = database.clone().unwrap_or_else(|| format!("sqlite://{}", path.display()));
    let store = Store::connect(&url).await?;
    store.migrate().await?;
    let actor = Actor::system("bench");
    let started = Instant::now();
    store
        .seed_synthetic(&actor, &SynthOptions { residents, seed: 1, today: Date::new(2022, 6, 13).context("date")? })
        .await?;
    let seed_secs = started.elapsed().as_secs_f64();
    let buildings = all_building_ids(&store).await?;
    let round = store
        .create_sampling_round(
            &actor,
            &NewRound {
                name: "bench".into(),
                pool_size: 10,
                mode: "door_to_door".into(),
                deadline: None,
                buildings,
                teams: vec![],
            },
        )
        .await?;
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
        let statuses = writer.submit(actor.clone(), chunk.to_vec()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        accepted += statuses.iter().filter(|s| *s == "accepted").count();
    }
    let ingest_secs = started.elapsed().as_secs_f64();
    if accepted != all.len() {
        bail!("only {accepted} of {} scans accepted", all.len());
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
    // One building's coverage, 200 reads over different buildings: p99.
    let mut one_ms = Vec::new();
    for (i, b) in round.buildings.iter().cycle().take(200).enumerate() {
        let t = Instant::now();
        let c = store.building_coverage(round.id, *b).await?;
        one_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        if i == 0 && c.sampled != c.expected {
            bail!("building {b}: {} of {} sampled", c.sampled, c.expected);
        }
    }
    one_ms.sort_by(f64::total_cmp);
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
    println!("| one building's coverage | 200 reads | | median {:.2} ms, p99 {:.2} ms |", one_ms[100], one_ms[197]);
    store.close().await;
    if database.is_none() {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    Ok(())
}

/// Parses wrk's "Requests/sec" and the 99th percentile latency (ms) from its output.
fn wrk_figures(out: &str) -> (f64, Option<f64>) {
    let rps = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    let p99 = out.lines().find_map(|l| l.trim().strip_prefix("99%")).map(str::trim).and_then(|v| {
        let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
        let n: f64 = num.parse().ok()?;
        Some(match unit {
            "us" => n / 1000.0,
            "s" => n * 1000.0,
            _ => n,
        })
    });
    (rps, p99)
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

async fn http_scans(residents: usize, seconds: u32, connections: u32) -> anyhow::Result<()> {
    use frontline_domain::date::Date;
    use frontline_domain::ids::SamplingCode;
    use frontline_domain::synth::SynthOptions;
    use frontline_store::sampling::NewRound;
    use frontline_store::{Actor, Store};

    let dir = std::env::temp_dir().join(format!("frontline-bench-http-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let store = Store::connect(&url).await?;
    store.migrate().await?;
    store.ensure_default_groups().await?;
    let actor = Actor::system("bench");
    store
        .seed_synthetic(&actor, &SynthOptions { residents, seed: 1, today: Date::new(2022, 6, 13).context("date")? })
        .await?;
    let all_buildings = all_building_ids(&store).await?;
    let round = store
        .create_sampling_round(
            &actor,
            &NewRound {
                name: "bench".into(),
                pool_size: 10,
                mode: "door_to_door".into(),
                deadline: None,
                buildings: all_buildings,
                teams: vec![],
            },
        )
        .await?;
    let hash = frontline_web::auth::hash_password("bench-password".into()).await?;
    let user = store
        .create_user(
            &actor,
            &frontline_store::accounts::NewUser {
                username: "bench".into(),
                display_name: "bench".into(),
                password_hash: hash,
                role: frontline_domain::access::Role::Volunteer,
                group_id: None,
            },
        )
        .await?;
    let token = frontline_web::auth::random_token()?;
    store
        .create_session(
            user.id,
            &frontline_web::auth::token_hash(&token),
            "api",
            "x",
            frontline_store::now_ms() + 86_400_000,
        )
        .await?;
    let state = frontline_web::AppState::new(store.clone(), frontline_web::WebConfig::default()).await?;
    // Codes for the load script: every resident once, then repeats (duplicates still write their key).
    let sample = residents.min(200_000);
    let mut lua = String::from("codes = {");
    for id in 1..=i64::try_from(sample).unwrap_or(0) {
        lua.push_str(&format!("\"{}\",", SamplingCode::encode(id, state.code_key()).as_str()));
    }
    lua.push_str("}\n");
    lua.push_str(&format!(
        r#"local counter = 0
local threads = 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
function init(args) counter = 0 end
request = function()
  counter = counter + 1
  local n = (counter * 4 + tid) % #codes + 1
  local body = string.format('{{"scans":[{{"key":"%d-%d","round":{round},"tube":"W%d%07d","resident_code":"%s"}}]}}', tid, counter, tid, math.floor(counter / 10), codes[n])
  return wrk.format("POST", "/api/v1/sampling/scans", {{["Content-Type"]="application/json", ["Authorization"]="Bearer {token}"}}, body)
end
"#,
        round = round.id,
        token = token
    ));
    let script = dir.join("scan.lua");
    std::fs::write(&script, lua)?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let app_addr = app_listener.local_addr()?;
    let mut rx1 = stop_rx.clone();
    let app = tokio::spawn(frontline_web::serve(app_listener, state, async move {
        let _ = rx1.changed().await;
    }));
    let hello_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hello_addr = hello_listener.local_addr()?;
    let mut rx2 = stop_rx.clone();
    let hello =
        tokio::spawn(frontline_web::serve_plain(hello_listener, frontline_web::bare_hello_router(), async move {
            let _ = rx2.changed().await;
        }));
    let wrk = |args: Vec<String>| tokio::task::spawn_blocking(move || Command::new("wrk").args(&args).output());
    let common = vec!["-t2".to_string(), format!("-c{connections}"), format!("-d{seconds}s"), "--latency".to_string()];
    let mut hello_args = common.clone();
    hello_args.push(format!("http://{hello_addr}/hello"));
    let hello_out = wrk(hello_args).await?.context("running wrk (apt-get install wrk)")?;
    let mut scan_args = common;
    scan_args.extend(["-s".to_string(), script.display().to_string(), format!("http://{app_addr}")]);
    let scan_out = wrk(scan_args).await?.context("running wrk")?;
    let _ = stop_tx.send(true);
    let _ = app.await;
    let _ = hello.await;
    let (hello_rps, hello_p99) = wrk_figures(&String::from_utf8_lossy(&hello_out.stdout));
    let scan_text = String::from_utf8_lossy(&scan_out.stdout).to_string();
    let (scan_rps, scan_p99) = wrk_figures(&scan_text);
    let non2xx = scan_text.lines().find(|l| l.contains("Non-2xx")).unwrap_or("").trim().to_string();
    let accepted = store.sampling_coverage(round.id).await?.sampled;
    println!("| server | connections | requests/s | × hello | p99 latency |");
    println!("|---|---|---|---|---|");
    let ms = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.2} ms"));
    println!("| bare axum GET /hello | {connections} | {hello_rps:.0} | 1.00 | {} |", ms(hello_p99));
    println!(
        "| POST /api/v1/sampling/scans (one scan, durable) | {connections} | {scan_rps:.0} | {:.2} | {} |",
        scan_rps / hello_rps.max(1.0),
        ms(scan_p99)
    );
    println!();
    println!("residents {residents}; scans accepted into tubes {accepted}; {non2xx}");
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
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
