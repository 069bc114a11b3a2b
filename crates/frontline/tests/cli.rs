//! The real binary, end to end: configuration, migrations, accounts, the demo
//! on both backends, serving, and a graceful stop on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use frontline_store::testing::TestDb;
use frontline_store::Backend;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_frontline"));
    c.env_remove("FRONTLINE_DATABASE_URL").env("FRONTLINE_LOG", "warn");
    c
}

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn frontline");
    if let Some(input) = stdin {
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("wait")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn temp_db(name: &str) -> (String, std::path::PathBuf) {
    let path = std::env::temp_dir().join(format!("frontline-cli-{}-{name}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    (format!("sqlite://{}", path.display()), path)
}

#[test]
fn config_default_prints_the_annotated_file() {
    let out = run(&["config", "--default"], None);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("database_url = \"sqlite://frontline.db\"") && text.contains("[web.rules]"), "{text}");
}

#[test]
fn migrate_then_manage_accounts() {
    let (url, path) = temp_db("accounts");
    let first = run(&["migrate", "--database", &url], None);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(stdout(&first).contains("applied 0001_foundation"));
    assert!(stdout(&run(&["migrate", "--database", &url], None)).contains("up to date"));

    let add = run(
        &[
            "user",
            "add",
            "chen",
            "--role",
            "group_lead",
            "--group",
            "community_service",
            "--password-stdin",
            "--database",
            &url,
        ],
        Some("a long password\n"),
    );
    assert!(add.status.success(), "{}", String::from_utf8_lossy(&add.stderr));
    let again = run(&["user", "add", "chen", "--role", "staff", "--database", &url], None);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let bad_role = run(&["user", "add", "lily", "--role", "admin", "--database", &url], None);
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("unknown role"));
    let short =
        run(&["user", "add", "lily", "--role", "staff", "--password-stdin", "--database", &url], Some("short\n"));
    assert!(!short.status.success());
    for (weak, why) in [("12345678", "10 characters"), ("password123", "common"), ("Lily-2024-xyz", "user name")] {
        let out = run(
            &["user", "add", "lily", "--role", "staff", "--password-stdin", "--database", &url],
            Some(&format!("{weak}\n")),
        );
        assert!(!out.status.success(), "{weak} was accepted");
        assert!(String::from_utf8_lossy(&out.stderr).contains(why), "{weak}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let weak_reset =
        run(&["user", "reset-password", "chen", "--password-stdin", "--database", &url], Some("          \n"));
    assert!(!weak_reset.status.success(), "ten spaces are refused on reset too");

    let generated = run(&["user", "add", "lin", "--role", "volunteer", "--database", &url], None);
    assert!(stdout(&generated).contains("password: "), "a generated password is shown once");
    assert!(run(&["user", "disable", "lin", "--database", &url], None).status.success());
    let list = stdout(&run(&["user", "list", "--database", &url], None));
    assert!(list.lines().any(|l| l.starts_with("chen") && l.contains("group_lead") && l.contains("active")), "{list}");
    assert!(list.lines().any(|l| l.starts_with("lin") && l.contains("disabled")), "{list}");
    let reset = run(&["user", "reset-password", "nobody", "--database", &url], None);
    assert!(!reset.status.success());
    let _ = std::fs::remove_file(path);
}

#[test]
fn working_group_members_and_leaders_from_the_command_line() {
    let (url, path) = temp_db("groups");
    for name in ["chen", "lin"] {
        let add = run(&["user", "add", name, "--role", "staff", "--database", &url], None);
        assert!(add.status.success(), "{}", String::from_utf8_lossy(&add.stderr));
    }
    let joined = run(&["user", "group", "chen", "sampling", "--database", &url], None);
    assert!(joined.status.success(), "{}", String::from_utf8_lossy(&joined.stderr));
    assert!(stdout(&joined).contains("chen is in working group sampling"));
    let refused = run(&["user", "leader", "sampling", "lin", "--database", &url], None);
    assert!(!refused.status.success(), "lin is no member");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("not a member"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let led = run(&["user", "leader", "sampling", "chen", "--database", &url], None);
    assert!(led.status.success() && stdout(&led).contains("chen leads working group sampling"));
    let unknown = run(&["user", "group", "chen", "no_such_group", "--database", &url], None);
    assert!(!unknown.status.success());
    let left = run(&["user", "group", "chen", "--database", &url], None);
    assert!(left.status.success() && stdout(&left).contains("chen is in no working group"));
    let _ = std::fs::remove_file(path);
}

#[test]
fn bad_database_url_is_a_clear_error() {
    let out = run(&["migrate", "--database", "mysql://x@y/z"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported database URL"));
}

#[test]
fn a_weak_demo_password_is_refused_before_anything_is_seeded() {
    let dir = std::env::temp_dir().join(format!("frontline-weak-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.to_string_lossy().to_string();
    // Refused for the `lab` account: it contains the user name.
    for weak in ["12345678", "collaborate-2024"] {
        let out = bin()
            .args(["demo", "--data", &data, "--no-serve"])
            .env("FRONTLINE_DEMO_PASSWORD", weak)
            .output()
            .expect("demo");
        assert!(!out.status.success(), "{weak} was accepted");
        assert!(String::from_utf8_lossy(&out.stderr).contains("FRONTLINE_DEMO_PASSWORD"));
        assert!(!dir.join("frontline.db").exists(), "nothing seeded");
    }
}

fn http(addr: &str, request: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    s.write_all(request.as_bytes()).expect("send");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn demo_seeds_once_serves_and_stops_gracefully() {
    let dir = std::env::temp_dir().join(format!("frontline-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.to_string_lossy().to_string();
    let first = bin()
        .args(["demo", "--data", &data, "--residents", "400", "--seed", "5", "--no-serve"])
        .env("FRONTLINE_DEMO_PASSWORD", "demo-password")
        .output()
        .expect("demo");
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let text = stdout(&first);
    assert!(text.contains("Seeded 400 residents"), "{text}");
    for role in ["commander", "deputy", "group_lead", "staff", "volunteer", "checkpoint", "lab"] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(role) && l.contains("demo-password")),
            "{role} in {text}"
        );
    }
    assert!(dir.join("frontline.db").exists());

    let mut child = bin()
        .args(["demo", "--data", &data, "--listen", "127.0.0.1:0"])
        .env("FRONTLINE_DEMO_PASSWORD", "demo-password")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut addr = None;
    let mut reused = false;
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        reused |= line.contains("Reusing");
        if let Some(a) = line.strip_prefix("Listening on http://") {
            addr = Some(a.trim().to_string());
            break;
        }
    }
    let addr = addr.expect("the server printed its address");
    assert!(reused, "the second run reuses the district");
    let health = http(&addr, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let body = r#"{"username":"commander","password":"demo-password"}"#;
    let login = http(&addr, &format!("POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()));
    assert!(login.starts_with("HTTP/1.1 200") && login.contains("\"token\""), "{login}");
    let token = login.split("\"token\":\"").nth(1).and_then(|t| t.split('"').next()).expect("token");
    let buildings = http(
        &addr,
        &format!(
            "GET /api/v1/buildings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(buildings.starts_with("HTTP/1.1 200") && buildings.contains("号楼"), "{buildings}");

    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "a SIGTERM ends the server cleanly: {status}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn demo_runs_on_postgres_through_the_binary() {
    let db = TestDb::new(Backend::Postgres).await;
    let url = db.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        bin()
            .args(["demo", "--database", &url, "--residents", "300", "--no-serve"])
            .env("FRONTLINE_DEMO_PASSWORD", "demo-pass-123")
            .output()
    })
    .await
    .expect("join")
    .expect("demo");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("Seeded 300 residents"));
    let users = db.store.list_users().await.expect("users");
    assert_eq!(users.len(), 7);
    let page = db.store.list_buildings(None, None, 500).await.expect("buildings");
    assert_eq!(page.items.iter().map(|b| b.residents).sum::<i64>(), 300);
    db.drop_db().await;
}

#[test]
fn census_import_from_the_command_line() {
    let (url, path) = temp_db("census");
    let file = std::env::temp_dir().join(format!("frontline-cli-{}-census.csv", std::process::id()));
    let file_s = file.to_string_lossy().to_string();
    let gen = run(&["generate", "census-file", &file_s, "--rows", "500", "--seed", "7", "--messy"], None);
    assert!(gen.status.success(), "{}", String::from_utf8_lossy(&gen.stderr));
    let args = |extra: &[&str]| {
        let mut v = vec![
            "import",
            "census",
            file_s.as_str(),
            "--round",
            "第一轮",
            "--compound",
            "海月花园",
            "--json",
            "--database",
            url.as_str(),
        ];
        v.extend_from_slice(extra);
        v.iter().map(|s| (*s).to_string()).collect::<Vec<_>>()
    };
    let dry = run(&args(&["--dry-run"]).iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert!(dry.status.success(), "{}", String::from_utf8_lossy(&dry.stderr));
    let summary: serde_json::Value = serde_json::from_str(stdout(&dry).trim()).expect("one JSON object");
    for key in [
        "rows_read",
        "rows_skipped",
        "residents_created",
        "residents_matched",
        "duplicates_in_file",
        "refused",
        "warnings",
    ] {
        assert!(summary.get(key).is_some(), "{key} in {summary}");
    }
    assert!(summary["refused"]["id_precision_lost"].as_u64().is_some_and(|n| n > 0), "{summary}");
    let refused = run(&args(&[]).iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert_eq!(refused.status.code(), Some(2), "refused rows: nothing written, exit 2");
    let accepted = run(&args(&["--accept-valid"]).iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert!(accepted.status.success(), "{}", String::from_utf8_lossy(&accepted.stderr));
    let written: serde_json::Value = serde_json::from_str(stdout(&accepted).trim()).expect("json");
    assert_eq!(written["committed"], true);
    assert_eq!(written["residents_created"], summary["residents_created"]);
    let junk = std::env::temp_dir().join(format!("frontline-cli-{}-junk.xlsx", std::process::id()));
    std::fs::write(&junk, b"\x00\x01\x02 not a sheet at all \xff\xfe").expect("write");
    let bad = run(
        &["import", "census", &junk.to_string_lossy(), "--round", "x", "--compound", "y", "--database", &url],
        None,
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("not_a_spreadsheet"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    for p in [file, junk, path] {
        let _ = std::fs::remove_file(p);
    }
}

/// `generate census-file` with the demo's options writes a compound of the demo's
/// own district: imported into the demo, its people are found again, the people
/// it left out are gone (the demo's register is the compound's first round), and
/// `--json` lists every duplicate row with the row it repeats.
#[test]
fn a_generated_sheet_matches_the_demo_and_json_lists_duplicate_rows() {
    let (url, path) = temp_db("census-demo");
    let demo = bin()
        .args(["demo", "--database", &url, "--residents", "2000", "--seed", "5", "--today", "2022-06-13", "--no-serve"])
        .env("FRONTLINE_DEMO_PASSWORD", "demo-pass-123")
        .output()
        .expect("demo");
    assert!(demo.status.success(), "{}", String::from_utf8_lossy(&demo.stderr));
    let file = std::env::temp_dir().join(format!("frontline-cli-{}-demo-sheet.csv", std::process::id()));
    let file_s = file.to_string_lossy().to_string();
    let gen = run(
        &["generate", "census-file", &file_s, "--residents", "2000", "--seed", "5", "--today", "2022-06-13", "--messy"],
        None,
    );
    assert!(gen.status.success(), "{}", String::from_utf8_lossy(&gen.stderr));
    let said = stdout(&gen);
    let compound = said
        .strip_prefix("compound ")
        .and_then(|rest| rest.split(" of the district").next())
        .unwrap_or_else(|| panic!("the compound is named: {said}"))
        .to_string();
    let moved_out: u64 = said
        .split(" moved out")
        .next()
        .and_then(|head| head.rsplit('(').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the moved-out count is said: {said}"));
    let out = run(
        &[
            "import",
            "census",
            &file_s,
            "--round",
            "第二轮",
            "--compound",
            &compound,
            "--accept-valid",
            "--json",
            "--database",
            &url,
        ],
        None,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("one JSON object");
    let n = |k: &str| s[k].as_u64().unwrap_or(0);
    assert!(n("residents_matched") > 10 * n("residents_created"), "most people are the demo's: {s}");
    assert!(moved_out > 0 && n("gone") > 0 && n("gone") <= moved_out, "{moved_out} moved out: {s}");
    assert!(n("gone") + n("to_check") + n("unresolved") >= moved_out, "{moved_out} moved out: {s}");
    assert_eq!(n("departed"), n("gone"), "{s}");
    let rows = s["duplicate_rows"].as_array().unwrap_or_else(|| panic!("duplicate_rows in {s}"));
    assert_eq!(rows.len() as u64, n("duplicates_in_file"), "{s}");
    for row in rows {
        let keys: Vec<&str> = row.as_object().expect("object").keys().map(String::as_str).collect();
        assert_eq!(keys, ["conflict", "row", "same_as_row"], "{row}");
        assert!(row["same_as_row"].as_u64() < row["row"].as_u64(), "{row}");
    }
    assert_eq!(rows.iter().filter(|r| r["conflict"] == true).count(), 1, "{s}");
    assert!(rows.iter().any(|r| r["conflict"] == false), "{s}");
    for p in [file, path] {
        let _ = std::fs::remove_file(p);
    }
}

#[test]
fn census_scope_and_confirmation_from_the_command_line() {
    let (url, path) = temp_db("census-scope");
    let id = |b: u32, seq: u16| {
        frontline_domain::ids::IdNumber::from_parts(
            "350602",
            frontline_domain::date::Date::new(1970, b, 9).expect("date"),
            seq,
        )
        .as_str()
        .to_string()
    };
    let sheet = |rows: &[(u32, u16)]| {
        let mut out = String::from("姓名,身份证号,楼栋,单元,房号\n");
        for (b, seq) in rows {
            out.push_str(&format!("住户{b}{seq},{},{b}号楼,1单元,10{seq}\n", id(*b, *seq)));
        }
        out
    };
    let dir = std::env::temp_dir();
    let first = dir.join(format!("frontline-cli-{}-r1.csv", std::process::id()));
    let partial = dir.join(format!("frontline-cli-{}-r2.csv", std::process::id()));
    std::fs::write(&first, sheet(&[(1, 1), (1, 2), (2, 1), (2, 2)])).expect("r1");
    std::fs::write(&partial, sheet(&[(2, 1)])).expect("r2");
    let import = |file: &std::path::Path, round: &str, extra: &[&str]| {
        let file = file.to_string_lossy().to_string();
        let mut args =
            vec!["import", "census", &file, "--round", round, "--compound", "海月花园", "--json", "--database", &url];
        args.extend_from_slice(extra);
        let out = run(&args, None);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_str::<serde_json::Value>(stdout(&out).trim()).expect("json")
    };
    import(&first, "R1", &[]);
    let r2 = import(&partial, "R2", &[]);
    assert_eq!(r2["scope"], "buildings", "detected: 1号楼 is not in the sheet");
    let r3 = import(&partial, "R3", &["--scope", "compound"]);
    assert_eq!(r3["scope"], "compound");
    assert_eq!((r2["gone"].as_u64(), r2["departed"].as_u64()), (Some(1), Some(1)), "committing confirms: {r2}");
    let round = r2["round_id"].as_i64().expect("round").to_string();
    let again = run(&["census", "confirm", &round, "--database", &url], None);
    assert_eq!(again.status.code(), Some(1), "a round is confirmed once");
    let bad_state = run(&["census", "state", "1", "vanished", "--database", &url], None);
    assert_eq!(bad_state.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_state.stderr).contains("moved_out"));
    for p in [first, partial, path] {
        let _ = std::fs::remove_file(p);
    }
}

#[test]
fn census_benchmark_runs_end_to_end() {
    let dir = std::env::temp_dir().join(format!("frontline-cli-{}-bench", std::process::id()));
    let out = run(&["bench", "census", "--rows", "300", "--dir", &dir.to_string_lossy()], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = stdout(&out);
    let row = |what: &str| table_row(&table, what);
    let second = row("second round (all matched)").expect("second round measured");
    assert_eq!(second[2], "300", "{table}");
    assert!(second[4].parse::<f64>().is_ok_and(|r| r > 0.0), "{table}");
    assert!(second[6].ends_with("MB"), "peak memory is reported: {table}");
    assert!(!dir.exists(), "the working directory is removed");
}

#[test]
fn scans_benchmark_runs_end_to_end() {
    let out = run(&["bench", "scans", "--residents", "300", "--batch", "50"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = stdout(&out);
    let row = |what: &str| table_row(&table, what);
    let ingest = row("batch ingest").expect("batch ingest measured");
    assert_eq!(ingest[2], "300", "{table}");
    assert!(ingest[4].ends_with("scans/s"), "{table}");
    let restart = row("first scan after a restart").expect("restart measured");
    assert!(restart[1].contains("300 members") && restart[4].ends_with(" ms"), "{table}");
}

/// The cells of a bench table's first row whose text holds `what`.
fn table_row<'a>(table: &'a str, what: &str) -> Option<Vec<&'a str>> {
    table.lines().find(|l| l.contains(what)).map(|l| l.split('|').map(str::trim).collect())
}

#[test]
fn the_lab_lists_tubes_and_refuses_a_correction_it_cannot_make() {
    let (url, path) = temp_db("lab");
    assert!(run(&["migrate", "--database", &url], None).status.success());
    let tubes = run(&["lab", "tubes", "--overdue", "--database", &url], None);
    assert!(tubes.status.success(), "{}", String::from_utf8_lossy(&tubes.stderr));
    assert!(stdout(&tubes).contains("0 tubes awaiting a result"), "{}", stdout(&tubes));
    let no_reason = run(&["lab", "correct", "ZZ0001", "negative", "--reason", " ", "--database", &url], None);
    assert!(!no_reason.status.success());
    assert!(String::from_utf8_lossy(&no_reason.stderr).contains("needs a reason"));
    let unknown = run(&["lab", "correct", "ZZ0001", "negative", "--reason", "录入错误", "--database", &url], None);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no tube ZZ0001"));
    let _ = std::fs::remove_file(path);
}
