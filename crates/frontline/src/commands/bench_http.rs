//! `frontline bench http-scans`: single scans over HTTP against two bare axum
//! baselines, in alternating rounds so that a noisy neighbour on a shared
//! machine weighs on all three alike.
//!
//! The baselines: `GET /hello` driven by wrk's built-in request (the cheapest
//! load wrk can generate), and a bare `POST` handler that reads the body and
//! answers a constant JSON, driven by the very same Lua script as the real scan
//! endpoint. wrk runs on the same two cores as the server and its Lua request
//! generation costs it about twice what its built-in request does, so only the
//! second baseline compares servers under the same load.

use std::process::Command;

use anyhow::Context;
use axum::routing::{get, post};
use axum::Router;
use frontline_domain::ids::SamplingCode;
use frontline_store::Actor;

use super::bench::seeded_round;

/// Parses wrk's "Requests/sec", the 99th percentile latency (ms) and the
/// requests completed from its output.
fn wrk_figures(out: &str) -> Figures {
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
    // "  250000 requests in 5.00s, 30.00MB read"
    let requests = out
        .lines()
        .find_map(|l| l.trim().split_once(" requests in ").and_then(|(n, _)| n.trim().parse().ok()))
        .unwrap_or(0);
    Figures { rps, p99, requests }
}

/// The bare baselines, on the same axum stack as the application but with no
/// state and no database: `GET /hello`, and `POST /api/v1/sampling/scans` that
/// reads the body and answers a constant result.
fn bare_router() -> Router {
    const ANSWER: &str = r#"{"results":[{"key":"k","status":"accepted"}]}"#;
    Router::new().route("/hello", get(|| async { "hello" })).route(
        "/api/v1/sampling/scans",
        post(|_body: axum::body::Bytes| async { ([(axum::http::header::CONTENT_TYPE, "application/json")], ANSWER) }),
    )
}

/// A run's Lua script: one scan per request, with a fresh key and tube (the
/// run's number comes as the script's argument). Keys are ordered the way the
/// sampler page's are (by time, then a part that tells phones apart): the run,
/// the request's number in its thread zero-padded, the thread. Residents come
/// in turn from the run's own slice of codes, so that with enough residents
/// seeded every scan puts a new person into a tube. The slice is kept to
/// 250,000 codes: a larger table makes wrk's Lua garbage collector pause and
/// inflates every p99.
fn lua_script(codes: &[String], round: i64, token: &str) -> String {
    let mut lua = String::from("codes = {");
    for code in codes {
        lua.push('"');
        lua.push_str(code);
        lua.push_str("\",");
    }
    lua.push_str("}\n");
    lua.push_str(&format!(
        r#"local counter = 0
local threads = 0
local run = "0"
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
function init(args) counter = 0; run = args[1] or "0" end
request = function()
  counter = counter + 1
  local n = (counter * 2 + tid) % #codes + 1
  local body = string.format('{{"scans":[{{"key":"%s-%010d-%d","round":{round},"tube":"W%s%d%07d","resident_code":"%s"}}]}}', run, counter, tid, run, tid, math.floor(counter / 10), codes[n])
  return wrk.format("POST", "/api/v1/sampling/scans", {{["Content-Type"]="application/json", ["Authorization"]="Bearer {token}"}}, body)
end
"#
    ));
    lua
}

/// One wrk measurement: requests per second, p99 (ms), and requests completed.
struct Figures {
    rps: f64,
    p99: Option<f64>,
    requests: u64,
}

/// CPU time in clock ticks, as Linux's `/proc` counts it (100 per second):
/// this process's runtime workers and scan writer, the children it has waited
/// for (wrk), and the machine's idle time (both cores, I/O wait included).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct CpuTicks {
    workers: u64,
    writer: u64,
    wrk: u64,
    idle: u64,
}

/// A `/proc/.../stat` line's command name (which may hold spaces and
/// parentheses) and the numeric fields after it (state and the like read as 0).
fn stat_line(line: &str) -> (&str, Vec<u64>) {
    let Some((head, rest)) = line.rsplit_once(')') else { return ("", Vec::new()) };
    let name = head.split_once('(').map_or("", |(_, name)| name);
    (name, rest.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect())
}

/// The sum of two fields (absent ones count 0).
fn two(fields: &[u64], a: usize, b: usize) -> u64 {
    fields.get(a).copied().unwrap_or(0) + fields.get(b).copied().unwrap_or(0)
}

impl CpuTicks {
    /// Now, or `None` where there is no `/proc` (the bench then prints no CPU table).
    fn now() -> Option<CpuTicks> {
        let mut t = CpuTicks::default();
        for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
            let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
            // After the name: state, …, then utime and stime.
            let (name, f) = stat_line(&stat);
            match name {
                "tokio-rt-worker" => t.workers += two(&f, 11, 12),
                "scan-writer" => t.writer += two(&f, 11, 12),
                _ => {}
            }
        }
        // cutime and cstime: the children waited for.
        t.wrk = two(&stat_line(&std::fs::read_to_string("/proc/self/stat").ok()?).1, 13, 14);
        let machine = std::fs::read_to_string("/proc/stat").ok()?;
        let cpu: Vec<u64> =
            machine.lines().next()?.split_whitespace().skip(1).map(|v| v.parse().unwrap_or(0)).collect();
        // idle and iowait.
        t.idle = two(&cpu, 3, 4);
        Some(t)
    }

    /// What was spent between `self` and `later`.
    fn since(self, later: CpuTicks) -> CpuTicks {
        CpuTicks {
            workers: later.workers.saturating_sub(self.workers),
            writer: later.writer.saturating_sub(self.writer),
            wrk: later.wrk.saturating_sub(self.wrk),
            idle: later.idle.saturating_sub(self.idle),
        }
    }

    /// Microseconds per request (a tick is 10 ms).
    fn per_request(self, requests: u64) -> [f64; 4] {
        let us = |ticks: u64| ticks as f64 * 10_000.0 / requests.max(1) as f64;
        [us(self.workers), us(self.writer), us(self.wrk), us(self.idle)]
    }
}

/// wrk's figures for one run, with the CPU spent while it ran (when `/proc` tells).
async fn measured(args: Vec<String>) -> anyhow::Result<(Figures, String, Option<CpuTicks>)> {
    let before = CpuTicks::now();
    let (figures, text) = wrk(args).await?;
    let spent = before.zip(CpuTicks::now()).map(|(a, b)| a.since(b));
    Ok((figures, text, spent))
}

async fn wrk(args: Vec<String>) -> anyhow::Result<(Figures, String)> {
    let out = tokio::task::spawn_blocking(move || Command::new("wrk").args(&args).output())
        .await?
        .context("running wrk (apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    Ok((wrk_figures(&text), text))
}

/// The median; of an even count, the mean of the two middle values (the upper
/// one alone would flatter four runs by reporting the second best).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Seeds `residents`, opens a round over every building, and measures.
pub async fn http_scans(residents: usize, seconds: u32, connections: u32, rounds: u32) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("frontline-bench-http-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let (store, round, _) = seeded_round(&url, residents).await?;
    let actor = Actor::system("bench");
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
    let expires = frontline_store::now_ms() + 86_400_000;
    store.create_session(user.id, &frontline_web::auth::token_hash(&token), "api", "x", expires).await?;
    let state = frontline_web::AppState::new(store.clone(), frontline_web::WebConfig::default()).await?;
    let runs = rounds.max(1);
    let slice = (residents / runs as usize).clamp(1, 250_000);
    let mut scripts = Vec::new();
    for run in 0..runs {
        let first = i64::try_from(run as usize * slice % residents.max(1)).unwrap_or(0) + 1;
        let codes: Vec<String> = (first..first + i64::try_from(slice).unwrap_or(1))
            .map(|id| SamplingCode::encode(id, state.code_key()).as_str().to_string())
            .collect();
        let script = dir.join(format!("scan-{run}.lua"));
        std::fs::write(&script, lua_script(&codes, round.id, &token))?;
        scripts.push(script);
    }

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let app_addr = app_listener.local_addr()?;
    let mut rx1 = stop_rx.clone();
    let app = tokio::spawn(frontline_web::serve(app_listener, state, async move {
        let _ = rx1.changed().await;
    }));
    let bare_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let bare_addr = bare_listener.local_addr()?;
    let mut rx2 = stop_rx.clone();
    let bare = tokio::spawn(async move {
        axum::serve(bare_listener, bare_router())
            .with_graceful_shutdown(async move {
                let _ = rx2.changed().await;
            })
            .await
    });
    let common = ["-t2".to_string(), format!("-c{connections}"), format!("-d{seconds}s"), "--latency".to_string()];
    let scripted = |addr: std::net::SocketAddr, run: u32| {
        let script = &scripts[(run % runs) as usize];
        let mut args = common.to_vec();
        args.extend([
            "-s".into(),
            script.display().to_string(),
            format!("http://{addr}"),
            "--".into(),
            run.to_string(),
        ]);
        args
    };
    let mut rows = Vec::new();
    let mut last_scan_text = String::new();
    // Each scan request is meant to put a new person into a tube: a run longer than its
    // slice of residents wraps round and measures cheaper refusals instead.
    let mut fresh_by_run = Vec::new();
    // CPU per request while each run lasted: where the time goes, run by run.
    let mut cpu_rows = Vec::new();
    for run in 1..=runs {
        let mut hello_args = common.to_vec();
        hello_args.push(format!("http://{bare_addr}/hello"));
        let (hello, _) = wrk(hello_args).await?;
        let (bare_post, _, bare_cpu) = measured(scripted(bare_addr, 1000 + run)).await?;
        let before = store.sampling_coverage(round.id).await?.sampled;
        let (scan, text, scan_cpu) = measured(scripted(app_addr, run)).await?;
        let fresh = store.sampling_coverage(round.id).await?.sampled.saturating_sub(before);
        fresh_by_run.push((run, fresh, scan.requests));
        last_scan_text = text;
        if let (Some(b), Some(s)) = (bare_cpu, scan_cpu) {
            cpu_rows.push((run, b.per_request(bare_post.requests), s.per_request(scan.requests)));
        }
        rows.push((run, hello, bare_post, scan));
    }
    let _ = stop_tx.send(true);
    let _ = app.await;
    let _ = bare.await;
    let accepted = store.sampling_coverage(round.id).await?.sampled;
    let ms = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.2} ms"));
    println!("| run | server | requests/s | × bare POST | × hello | p99 latency |");
    println!("|---|---|---|---|---|---|");
    for (run, hello, bare_post, scan) in &rows {
        let vs = |f: &Figures| (f.rps / bare_post.rps.max(1.0), f.rps / hello.rps.max(1.0));
        for (name, f) in [
            ("bare axum GET /hello (wrk's own request)", hello),
            ("bare axum POST, same script as the scans", bare_post),
            ("POST /api/v1/sampling/scans (one scan, durable)", scan),
        ] {
            let (a, b) = vs(f);
            println!("| {run} | {name} | {:.0} | {a:.2} | {b:.2} | {} |", f.rps, ms(f.p99));
        }
    }
    let by_post = median(rows.iter().map(|(_, _, p, s)| s.rps / p.rps.max(1.0)).collect());
    let by_hello = median(rows.iter().map(|(_, h, _, s)| s.rps / h.rps.max(1.0)).collect());
    let p99 = median(rows.iter().filter_map(|(_, _, _, s)| s.p99).collect());
    println!();
    println!(
        "median over {} runs: scans {by_post:.2} × bare POST, {by_hello:.2} × hello; scan p99 {p99:.2} ms",
        rows.len()
    );
    if !cpu_rows.is_empty() {
        println!();
        println!("CPU per request while each run lasted, in µs (clock ticks of 10 ms; idle counts both cores):");
        println!();
        println!("| run | server | runtime workers | scan writer | wrk | idle |");
        println!("|---|---|---|---|---|---|");
        for (run, bare, scan) in &cpu_rows {
            for (name, [workers, writer, wrk, idle]) in [("bare POST", bare), ("scans", scan)] {
                println!("| {run} | {name} | {workers:.1} | {writer:.1} | {wrk:.1} | {idle:.1} |");
            }
        }
        println!();
    }
    let non2xx = last_scan_text.lines().find(|l| l.contains("Non-2xx")).unwrap_or("").trim().to_string();
    println!("residents {residents}; scans accepted into tubes {accepted}; {non2xx}");
    for (run, fresh, requests) in fresh_by_run {
        let note = if u64::try_from(fresh).unwrap_or(0) < requests {
            " — fewer than the requests: the run outlasted its slice of residents (fewer --seconds, or more --residents)"
        } else {
            ""
        };
        // wrk counts the responses it read before its time ran out; the requests still in
        // flight then are served too, so the new people can outnumber them by a few.
        println!("run {run}: {fresh} new people in tubes for {requests} scan requests counted by wrk{note}");
    }
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{median, stat_line, wrk_figures, CpuTicks};

    #[test]
    fn proc_stat_lines_are_read_past_the_name() {
        // A thread's name may hold spaces and parentheses: fields count from the last ')'.
        let line = "4242 (odd (name) here) S 1 4242 4242 0 -1 4194368 10 0 0 0 250 75 3 4 20 0 1";
        let (name, f) = stat_line(line);
        assert_eq!(name, "odd (name) here");
        assert_eq!((f[0], f[11], f[12], f[13], f[14]), (0, 250, 75, 3, 4), "{f:?}");
        assert!(stat_line("no name at all").1.is_empty());
    }

    #[test]
    fn cpu_ticks_become_microseconds_per_request() {
        let before = CpuTicks { workers: 100, writer: 40, wrk: 7, idle: 1_000 };
        let after = CpuTicks { workers: 300, writer: 90, wrk: 207, idle: 1_010 };
        let spent = before.since(after);
        assert_eq!(spent, CpuTicks { workers: 200, writer: 50, wrk: 200, idle: 10 });
        // 200 ticks of 10 ms over 100,000 requests: 20 µs each.
        assert_eq!(spent.per_request(100_000), [20.0, 5.0, 20.0, 1.0]);
        // A counter that went backwards (a thread gone) counts as nothing spent.
        assert_eq!(after.since(before).workers, 0);
    }

    #[test]
    fn median_of_runs() {
        assert_eq!(median(vec![]), 0.0);
        assert_eq!(median(vec![0.5, 0.25, 0.75]), 0.5);
        // Four runs: the middle two averaged, not the upper one.
        assert_eq!(median(vec![0.53, 0.43, 0.5, 0.44]), (0.44 + 0.5) / 2.0);
    }

    #[test]
    fn wrk_output_is_read() {
        let out = "Running 5s test @ http://127.0.0.1:40000\n  2 threads and 64 connections\n  \
                   Latency Distribution\n     50%  1.10ms\n     99%  850.00us\n  \
                   251234 requests in 5.00s, 40.00MB read\nRequests/sec:  50246.80\n";
        let f = wrk_figures(out);
        assert!((f.rps - 50246.8).abs() < 1e-6, "{}", f.rps);
        assert_eq!(f.p99, Some(0.85));
        assert_eq!(f.requests, 251_234);
        let none = wrk_figures("");
        assert_eq!((none.rps, none.p99, none.requests), (0.0, None, 0));
    }
}
