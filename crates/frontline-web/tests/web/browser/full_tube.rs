//! A tube fills up in a real browser: the sampler's page shows the fill as
//! people are scanned ("2/3"), and after the last one it clears the tube
//! field, puts the cursor there and says the tube is full, so the next scan
//! starts with a new tube instead of being refused.

use super::{log_in, serve, text_of};
use crate::sampling::fill::round_of;
use crate::support::webdriver::Browser;
use crate::support::{coded_resident, TestApp};
use fantoccini::key::Key;
use frontline_domain::access::Role;
use frontline_store::Backend;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_tube_is_cleared_and_the_sampler_is_asked_for_a_new_one() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let (building, h1, h2) = app.place().await;
    let mut codes = Vec::new();
    for (i, name) in ["甲", "乙", "丙", "丁"].into_iter().enumerate() {
        codes.push(coded_resident(&app, &staff, name, 121 + 2 * i as u16, if i < 2 { h1 } else { h2 }).await.1);
    }
    let round = round_of(&app, building, 3).await;
    let (base, stop, server) = serve(&app).await;
    let b = Browser::start(&[]).await;
    log_in(&b, &base, "group_lead").await;
    // The sampler reads Chinese.
    let page = format!("/sampling/rounds/{round}/scan?building={building}");
    b.goto(&format!("{base}/lang/zh?next={}", frontline_web::error::percent_encode(&page))).await;
    b.wait_until(5, "the page in Chinese", async |b| b.body_text().await.contains("试管")).await;

    let focused = "return document.activeElement && document.activeElement.name;";
    let seal_shown = "return getComputedStyle(document.getElementById('seal-form')).display !== 'none';";
    assert_eq!(b.eval(seal_shown).await, Value::from(false), "no tube yet, nothing to seal");
    b.type_into("input[name=tube]", &format!("ZZ5201{}", Key::Enter)).await;
    for (i, code) in codes[..2].iter().enumerate() {
        b.wait_until(5, "the member's field to take the cursor", async |b| b.eval(focused).await == "code").await;
        b.type_into("input[name=code]", &format!("{code}{}", Key::Enter)).await;
        let fill = format!("{}/3", i + 1);
        b.wait_until(10, "the fill to show", async |b| text_of(b, "#tube-fill").await == fill).await;
    }
    assert_eq!(b.eval("return document.querySelector('input[name=tube]').value;").await, Value::from("ZZ5201"));
    assert_eq!(text_of(&b, "#tube-fill").await, "2/3", "the fill before the last member");
    assert_eq!(b.eval(seal_shown).await, Value::from(true), "a tube being filled can be sealed early");

    b.wait_until(5, "the member's field to take the cursor", async |b| b.eval(focused).await == "code").await;
    b.type_into("input[name=code]", &format!("{}{}", codes[2], Key::Enter)).await;
    b.wait_until(10, "the full tube to be announced", async |b| {
        text_of(b, "#scan-status").await.contains("本管已满，请扫新试管")
    })
    .await;
    assert_eq!(b.eval("return document.querySelector('input[name=tube]').value;").await, Value::from(""));
    assert_eq!(b.eval(focused).await, Value::from("tube"), "the cursor waits for a new tube");
    assert_eq!(b.eval("return document.querySelector('#scan-status .tube-done') !== null;").await, Value::from(true));
    assert!(app.store().get_tube("ZZ5201").await.expect("tube").sealed);
    assert_eq!(b.eval(seal_shown).await, Value::from(false), "a full tube has nothing to seal");
    // The list marks the three as sampled without a reload.
    assert_eq!(b.eval("return document.querySelectorAll('.person .tag.done').length;").await, Value::from(3));

    // The next household starts a new tube at once.
    b.type_into("input[name=tube]", &format!("ZZ5202{}", Key::Enter)).await;
    b.wait_until(5, "the member's field to take the cursor", async |b| b.eval(focused).await == "code").await;
    b.type_into("input[name=code]", &format!("{}{}", codes[3], Key::Enter)).await;
    b.wait_until(10, "the new tube's fill", async |b| text_of(b, "#tube-fill").await == "1/3").await;
    assert_eq!(app.store().get_tube("ZZ5202").await.expect("tube").members, 1);
    b.close().await;
    let _ = stop.send(());
    let _ = server.await;
    app.finish().await;
}
