//! The census file generator and the demo agree: a messy later-round sheet of
//! a demo compound, imported into the demo district, finds its people again,
//! and — the seeded register being each compound's first round — reports the
//! people it left out as gone and takes them out of the base numbers.

use std::collections::{HashMap, HashSet};

use crate::census::{enc, post_import};
use crate::support::TestApp;
use axum::http::StatusCode;
use frontline_domain::access::Role;
use frontline_domain::date::Date;
use frontline_domain::synth::{SynthOptions, FIRST_ROUND};
use frontline_import::generate::{census_csv, district_sheet, CensusFileSpec, OutEncoding};
use frontline_store::{Actor, Backend};
use serde_json::Value;

/// Residents per building of a compound, from the base numbers.
async fn base_of(app: &TestApp, token: &str, compound: &str) -> HashMap<String, i64> {
    let base = app.get("/api/v1/census/base", token).await.json();
    base["buildings"]
        .as_array()
        .expect("buildings")
        .iter()
        .filter(|b| b["compound"] == compound)
        .map(|b| (b["building"].as_str().unwrap_or_default().to_string(), b["residents"].as_i64().unwrap_or(-1)))
        .collect()
}

#[tokio::test]
async fn a_messy_sheet_of_a_demo_compound_matches_the_demo_s_residents() {
    let app = TestApp::new(Backend::Sqlite).await;
    let today = Date::new(2022, 6, 13).expect("date");
    let opts = SynthOptions { residents: 4_000, seed: 1, today };
    app.store().seed_synthetic(&Actor::system("test"), &opts).await.expect("seed");
    let sheet = district_sheet(&opts, None, Some(1)).expect("the first compound");
    assert!(sheet.moved_out > 0 && sheet.newcomers > 0 && sheet.typos > 0, "{sheet:?}");
    // Plausible people: many birth dates, young and old.
    let births: HashSet<&str> = sheet.residents.iter().map(|r| &r.id_number[6..14]).collect();
    assert!(births.len() * 10 > sheet.residents.len() * 8, "{} dates for {}", births.len(), sheet.residents.len());
    let year = |r: &frontline_import::generate::ResidentRow| r.id_number[6..10].parse::<i32>().unwrap_or(0);
    let old = sheet.residents.iter().filter(|r| year(r) < 1942).count();
    assert!(old * 20 < sheet.residents.len(), "few over 80: {old}");
    assert!(sheet.residents.iter().any(|r| year(r) > 2010), "children too");

    let spec = CensusFileSpec {
        rows: sheet.residents.len(),
        seed: 1,
        encoding: OutEncoding::Utf8,
        title_row: true,
        messy: true,
        residents: sheet.residents.clone(),
    };
    let mut bytes = Vec::new();
    let stats = census_csv(&spec, &mut bytes).expect("sheet");
    let staff = app.token(Role::Staff).await;
    // The seeded register is each compound's first round, a row per resident.
    let rounds = app.get("/api/v1/census/rounds", &staff).await.json();
    let rounds = rounds.as_array().expect("rounds");
    assert_eq!(rounds.len(), 3, "one per compound: {rounds:?}");
    let seeded: u64 = rounds.iter().map(|r| r["summary"]["rows_read"].as_u64().unwrap_or(0)).sum();
    assert_eq!(seeded, 4_000);
    for r in rounds {
        assert_eq!(r["name"], FIRST_ROUND);
        assert_eq!(r["scope"], "compound");
        assert_eq!(r["summary"]["residents_created"], r["summary"]["rows_read"], "{r}");
    }
    let before = base_of(&app, &staff, &sheet.compound).await;
    let query = format!("round={}&compound={}&accept_valid=true", enc("第二轮"), enc(&sheet.compound));
    let res = post_import(&app, &staff, &query, bytes).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let s = res.json();
    let count = |k: &str| s[k].as_u64().unwrap_or(0) as usize;
    let people = sheet.residents.len();
    assert!(count("residents_matched") * 10 > people * 9, "most are found again: {s}");
    assert_eq!(count("residents_created"), sheet.newcomers, "only the newcomers are new: {s}");
    assert_eq!(count("households_created"), 0, "every address is the demo's: {s}");
    assert_eq!(count("duplicates_in_file"), stats.duplicates);
    let conflicts = s["duplicate_rows"].as_array().map_or(0, |d| d.iter().filter(|x| x["conflict"] == true).count());
    assert_eq!(conflicts, stats.conflicts);
    assert_eq!(conflicts, 1, "{s}");

    // Reconciled with the seeded round: the people the generator left out are gone,
    // but for those a refused row (an ID number a number cell destroyed) may stand for.
    let (gone, to_check, unresolved) = (count("gone"), count("to_check"), count("unresolved"));
    assert!(gone > 0, "{s}");
    assert!(gone <= sheet.moved_out, "only people who moved out are gone: {gone} of {}", sheet.moved_out);
    assert!(
        gone + to_check + unresolved >= sheet.moved_out,
        "every one who moved out is gone or tied to a refused row: {s} / {}",
        sheet.moved_out
    );
    assert!(stats.precision_lost > 0 && to_check > 0 && to_check <= stats.precision_lost, "{s} / {stats:?}");
    assert_eq!(count("departed"), gone, "committing confirms: {s}");

    // Each building's base number lost its gone and gained its newcomers.
    let round = s["round_id"].as_i64().expect("round id");
    let rec = app.get(&format!("/api/v1/census/rounds/{round}/reconcile"), &staff).await.json();
    assert_eq!(rec["previous"]["name"], FIRST_ROUND, "{}", rec["previous"]);
    assert_eq!(rec["totals"]["gone"].as_u64(), Some(gone as u64));
    let after = base_of(&app, &staff, &sheet.compound).await;
    let n = |b: &Value, k: &str| b[k].as_i64().unwrap_or(0);
    let mut dropped = 0;
    for b in rec["buildings"].as_array().expect("buildings") {
        let name = b["building"].as_str().expect("name");
        assert_eq!(after[name], before[name] - n(b, "gone") + n(b, "new"), "{name}: {b}");
        if after[name] < before[name] {
            dropped += 1;
        }
    }
    assert!(dropped > 0, "a building's base number dropped: {before:?} → {after:?}");
    let total = |m: &HashMap<String, i64>| m.values().sum::<i64>();
    assert_eq!(total(&after), total(&before) - gone as i64 + sheet.newcomers as i64);
    app.finish().await;
}
