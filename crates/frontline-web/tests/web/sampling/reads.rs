//! Pages that list many people or buildings read them at once: the round's
//! page names everyone with a retest due or confirmed, with their address, and
//! the sampler's page names every building of the round. Runs on both backends.

use crate::support::TestApp;
use frontline_domain::access::Role;
use frontline_domain::date::Date;
use frontline_domain::sampling::{LabResult, RetestResult, TubeCode};
use frontline_domain::synth::SynthOptions;
use frontline_store::sampling::{NewRound, Scan};
use frontline_store::{Actor, Backend};

/// The part of `page` from the element with `id` to the end of its table.
fn table<'a>(page: &'a str, id: &str) -> &'a str {
    let from = page.split(&format!("id=\"{id}\"")).nth(1).unwrap_or_else(|| panic!("no #{id}"));
    &from[..from.find("</table>").unwrap_or(from.len())]
}

async fn round_and_scan_pages_list_everyone(backend: Backend) {
    let app = TestApp::new(backend).await;
    let lead = app.token(Role::GroupLead).await;
    let store = app.store();
    let system = Actor::system("test");
    let opts = SynthOptions { residents: 1_500, seed: 9, today: Date::new(2022, 6, 13).expect("date") };
    store.seed_synthetic(&system, &opts).await.expect("seed");
    let buildings: Vec<i64> =
        store.list_buildings(None, None, 500).await.expect("buildings").items.iter().map(|b| b.id).collect();
    assert!(buildings.len() >= 3, "{buildings:?}");
    let new = NewRound {
        name: "R".into(),
        pool_size: 5,
        mode: "door_to_door".into(),
        deadline: None,
        buildings: buildings.clone(),
        teams: vec![],
    };
    let round = store.create_sampling_round(&system, &new).await.expect("round");

    // Two abnormal tubes of people from every building: all retested singly,
    // two of them confirmed.
    let people = store.list_residents(&Default::default(), None, 1_500).await.expect("residents").items;
    let mut picked = Vec::new();
    for b in &buildings {
        picked.extend(people.iter().filter(|r| r.building_id == Some(*b)).take(3).map(|r| r.id));
    }
    let scans: Vec<Scan> = picked
        .iter()
        .enumerate()
        .map(|(i, r)| Scan {
            key: format!("k{i}"),
            round: round.id,
            tube: format!("AB{:04}", i / 5),
            resident: Some(*r),
            refusal: None,
            at: 1_000,
        })
        .collect();
    let answered = app.state.scans().submit("test".into(), scans).await.expect("scans");
    assert!(answered.iter().all(|s| *s == "accepted"), "{answered:?}");
    let tubes: Vec<(TubeCode, LabResult)> = (0..picked.len().div_ceil(5))
        .map(|t| (TubeCode::parse(&format!("AB{t:04}")).expect("code"), LabResult::Abnormal))
        .collect();
    store.record_lab_results(&system, &tubes, 24).await.expect("lab");
    let confirmed = [picked[0], picked[4]];
    let results: Vec<(i64, RetestResult)> = confirmed.iter().map(|r| (*r, RetestResult::Positive)).collect();
    store.record_retests(&system, round.id, &results).await.expect("retests");

    let page = app.get(&format!("/sampling/rounds/{}", round.id), &lead).await.text();
    let (due, positive) = (table(&page, "retests"), table(&page, "confirmed"));
    for id in &picked {
        let r = store.get_resident(*id).await.expect("resident");
        let a = r.address.expect("an address");
        // The address cell is labelled for the phone's card layout.
        let label = frontline_domain::i18n::catalogue().text(frontline_domain::i18n::Lang::Zh, "residents.address");
        let row = format!(
            "<a href=\"/residents/{id}\">{}</a></td><td data-label=\"{label}\">{} {} {} {}</td>",
            r.name, a.compound, a.building, a.unit, a.room
        );
        let (listed, not_listed) = if confirmed.contains(id) { (positive, due) } else { (due, positive) };
        assert!(listed.contains(&row), "{row} in {listed}");
        assert!(!not_listed.contains(&format!("/residents/{id}\"")), "resident {id} listed once");
    }
    // Every building flagged for its retests.
    for b in &buildings {
        let row = page.split(&format!("<tr data-b=\"{b}\">")).nth(1).expect("the building's row");
        assert!(row[..row.find("</tr>").expect("row's end")].contains("class=\"tag\""), "building {b} flagged");
    }

    // Staff sweep anywhere: the scan page offers every building of the round.
    let staff = app.token(Role::Staff).await;
    let scan_page = app.get(&format!("/sampling/rounds/{}/scan", round.id), &staff).await.text();
    let mut at = 0;
    for b in &round.buildings {
        let name = store.get_building(*b).await.expect("building").summary.name;
        let option = format!("<option value=\"{b}\"");
        let found = scan_page[at..].find(&option).map(|i| i + at).unwrap_or_else(|| panic!("{option} after {at}"));
        let end = found + scan_page[found..].find("</option>").expect("option's end");
        assert!(scan_page[found..end].ends_with(&format!(">{name}")), "{}", &scan_page[found..end]);
        at = end;
    }
    app.finish().await;
}

#[tokio::test]
async fn round_and_scan_pages_list_everyone_sqlite() {
    round_and_scan_pages_list_everyone(Backend::Sqlite).await;
}

#[tokio::test]
async fn round_and_scan_pages_list_everyone_postgres() {
    round_and_scan_pages_list_everyone(Backend::Postgres).await;
}
