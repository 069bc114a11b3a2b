//! A 360-px phone in a real browser: tables read as cards without sideways
//! scrolling, long Chinese names stay whole, and the menu sits behind a button
//! that opens on a tap.
//!
//! With `FRONTLINE_SCREENSHOTS=<dir>` set, the pages are also saved there at
//! 1366 and 360 px, to be looked at.

use super::{log_in, serve};
use crate::support::webdriver::Browser;
use crate::support::{coded_resident, TestApp};
use frontline_domain::access::Role;
use frontline_domain::i18n::Lang;
use frontline_store::{Actor, Backend};

/// Sizes the window so that the page's viewport is `width` CSS pixels wide.
async fn viewport(b: &Browser, width: u32, height: u32) {
    b.resize(width, height).await;
    let inner = b.eval("return window.innerWidth;").await.as_i64().unwrap_or(i64::from(width));
    if inner != i64::from(width) {
        // The window's frame takes the difference.
        let outer = u32::try_from(2 * i64::from(width) - inner).unwrap_or(width);
        b.resize(outer, height).await;
    }
}

async fn number(b: &Browser, script: &str) -> f64 {
    b.eval(script).await.as_f64().unwrap_or_else(|| panic!("not a number: {script}"))
}

async fn text(b: &Browser, script: &str) -> String {
    b.eval(script).await.as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_tables_are_cards_names_stay_whole_and_the_menu_folds() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let a = Actor::system("test");
    let s = app.store();
    let compound = s.ensure_compound(&a, "兴古湾·书香苑").await.expect("compound");
    let mut households = vec![];
    let mut buildings = vec![];
    for n in 1..=3 {
        let building = s.ensure_building(&a, compound, &format!("{n}号楼"), Some(n), Some(18)).await.expect("building");
        buildings.push(building);
        let unit = s.ensure_unit(&a, building, "1单元", Some(1)).await.expect("unit");
        households.push(s.ensure_household(&a, unit, "1302", Some(13)).await.expect("household"));
    }
    for (i, h) in households.iter().enumerate() {
        let seq = u16::try_from(11 + 2 * i).expect("seq");
        coded_resident(&app, &staff, "许承泽", seq, *h).await;
    }
    let (base, stop, server) = serve(&app).await;
    let b = Browser::start(&[]).await;
    log_in(&b, &base, "commander").await;
    viewport(&b, 360, 780).await;
    assert_eq!(number(&b, "return window.innerWidth;").await, 360.0, "the viewport is not a phone's");

    // The base numbers: a table of compounds and buildings.
    b.goto(&format!("{base}/census/base")).await;
    let row_display =
        text(&b, "return getComputedStyle(document.querySelector('.table-wrap tbody tr')).display;").await;
    assert_eq!(row_display, "block", "a table row is not a card");
    let label = text(
        &b,
        "var c = document.querySelector('.table-wrap tbody td[data-label]'); \
         return getComputedStyle(c, '::before').content;",
    )
    .await;
    let cat = frontline_domain::i18n::catalogue();
    let column = [Lang::Zh, Lang::En].map(|l| cat.text(l, "buildings.compound"));
    assert!(column.iter().any(|c| label.contains(c)), "the cell is not labelled by its column: {label}");
    let wide = number(&b, "return document.documentElement.scrollWidth;").await;
    assert!(wide <= 360.0, "the page scrolls sideways: {wide} px");
    // The compound's name is one piece on one line.
    let name = "Array.from(document.querySelectorAll('.table-wrap .name')).find(e => e.textContent.trim() === '兴古湾·书香苑')";
    let space = text(&b, &format!("return getComputedStyle({name}).whiteSpace;")).await;
    assert_eq!(space, "nowrap", "the compound's name may break");
    let lines = number(&b, &format!("return {name}.getClientRects().length;")).await;
    assert_eq!(lines, 1.0, "the compound's name is broken across lines");
    let (height, line) = (
        number(&b, &format!("return {name}.getBoundingClientRect().height;")).await,
        number(&b, &format!("return parseFloat(getComputedStyle({name}).lineHeight);")).await,
    );
    assert!(height < line * 1.5, "the compound's name takes {height} px, a line is {line} px");

    // The menu is folded behind its button, and opens on a tap.
    let shown = "var n = document.querySelector('nav.main'); return n.getBoundingClientRect().height > 0;";
    assert_eq!(b.eval(shown).await, serde_json::Value::Bool(false), "the menu is open on a phone");
    b.click("label.menu-button").await;
    assert_eq!(b.eval(shown).await, serde_json::Value::Bool(true), "the menu does not open");
    let link =
        "var a = document.querySelector('nav.main a[href=\"/buildings\"]'); return a.getBoundingClientRect().height;";
    assert!(number(&b, link).await >= 44.0, "a menu entry is too small to tap");
    b.click("nav.main a[href='/buildings']").await;
    b.wait_until(10, "the buildings page", async |b| super::path_of(b).await == "/buildings").await;
    assert!(number(&b, "return document.documentElement.scrollWidth;").await <= 360.0);

    if let Some(dir) = std::env::var_os("FRONTLINE_SCREENSHOTS") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        // In Chinese, as most people will read them.
        b.goto(&format!("{base}/lang/zh?next=/")).await;
        let pages = ["/", "/buildings", "/census/base", "/residents?q=许承泽", "/groups", "/nowhere", "/audit"];
        for (width, height) in [(1366, 900), (360, 780)] {
            viewport(&b, width, height).await;
            for (i, page) in pages.iter().enumerate() {
                b.goto(&format!("{base}{page}")).await;
                b.screenshot(&dir.join(format!("{width}-{i}.png"))).await;
            }
            // A zone decision without a reason: the form comes back with its message.
            b.goto(&format!("{base}/buildings/{}", buildings[0])).await;
            b.type_into("#f-reason", " ").await;
            b.click("#zone-form button[type=submit]").await;
            b.eval("document.querySelector('#zone-form').scrollIntoView(); return 1;").await;
            b.screenshot(&dir.join(format!("{width}-zone-error.png"))).await;
            if width < 600 {
                b.goto(&format!("{base}/")).await;
                b.click("label.menu-button").await;
                b.screenshot(&dir.join(format!("{width}-menu.png"))).await;
            }
        }
    }
    b.close().await;
    let _ = stop.send(());
    let _ = server.await;
    app.finish().await;
}
