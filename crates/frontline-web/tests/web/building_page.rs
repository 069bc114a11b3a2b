//! The building page puts the zone form first, above the residents.

use crate::support::{browser_login, coded_resident, get_page, TestApp};
use frontline_domain::access::Role;
use frontline_store::Backend;

#[tokio::test]
async fn the_zone_form_comes_before_the_residents() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let (building, h1, _) = app.place().await;
    let (resident, _) = coded_resident(&app, &staff, "楼中人", 31, h1).await;
    let session = browser_login(&app, "commander").await;
    let html = get_page(&app, &session, format!("/buildings/{building}")).await.text();
    let form = html.find("id=\"zone-form\"").expect("the zone form for the commander");
    let person = html.find(&format!("/residents/{resident}\"")).expect("the resident listed");
    assert!(form < person, "the zone form comes first");
    assert!(html.contains("<option value=\"\">请选择管控级别</option>"), "no zone level chosen in advance");

    // Staff may not set zones: no form at all.
    let staff_session = browser_login(&app, "staff").await;
    let html = get_page(&app, &staff_session, format!("/buildings/{building}")).await.text();
    assert!(!html.contains("id=\"zone-form\""));
    app.finish().await;
}
