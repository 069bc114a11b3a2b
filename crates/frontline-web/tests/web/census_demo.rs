//! The census file generator and the demo agree: a messy later-round sheet of
//! a demo compound, imported into the demo district, finds its people again.

use std::collections::HashSet;

use crate::census::{enc, post_import};
use crate::support::TestApp;
use axum::http::StatusCode;
use frontline_domain::access::Role;
use frontline_domain::date::Date;
use frontline_domain::synth::SynthOptions;
use frontline_import::generate::{census_csv, district_sheet, CensusFileSpec, OutEncoding};
use frontline_store::{Actor, Backend};

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
    app.finish().await;
}
