//! A sheet whose name column has a header nobody taught the importer: the
//! mapping step appears instead of a preview, confirming is impossible until
//! the name column is mapped, and once mapped the preview commits.

use super::{log_in, path_of, serve, text_of};
use crate::support::webdriver::Browser;
use crate::support::{id_number, TestApp};
use frontline_store::Backend;

/// Saves a screenshot of the page at both widths when `FRONTLINE_SCREENSHOTS` names a folder.
async fn look(b: &Browser, name: &str) {
    let Ok(dir) = std::env::var("FRONTLINE_SCREENSHOTS") else { return };
    for width in [1366, 360] {
        b.resize(width, 900).await;
        b.screenshot(&std::path::Path::new(&dir).join(format!("{name}-{width}.png"))).await;
    }
    b.resize(1366, 900).await;
}

#[tokio::test]
async fn an_unknown_name_header_is_mapped_in_the_browser_before_the_sheet_commits() {
    let app = TestApp::new(Backend::Sqlite).await;
    let dir = std::env::temp_dir().join(format!("frontline-browser-mapping-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (one, two) = (id_number("350602", 1950, 3, 9, 11), id_number("350602", 1988, 7, 1, 12));
    let csv = format!("居住者,公民身份号码,幢,门牌\n陈建国,{one},3,1301\n林美华,{two},3,1302\n");
    let file = dir.join("第二轮.csv");
    std::fs::write(&file, csv).expect("sheet");
    let (base, stop, server) = serve(&app).await;

    let b = Browser::start(&[]).await;
    log_in(&b, &base, "staff").await;
    b.goto(&format!("{base}/census")).await;
    b.type_into("input[type=file]", &file.display().to_string()).await;
    b.type_into("input[name=round]", "第二轮").await;
    b.type_into("input[name=compound]", "海月花园").await;
    b.click("form[action='/census/upload'] button[type=submit]").await;
    b.wait_until(20, "the mapping step", async |b| !text_of(b, "#mapping-needed").await.is_empty()).await;
    // The name is missing; what the synonyms found is already chosen; nothing can be confirmed.
    let missing =
        b.eval("return Array.from(document.querySelectorAll('.missing-field')).map(e => e.textContent);").await;
    assert!(matches!(missing.as_array().map(Vec::as_slice), Some([m]) if m == "姓名" || m == "Name"), "{missing}");
    let chosen = b.eval("return document.querySelector('select[name=col_1]').value;").await;
    assert_eq!(chosen.as_str(), Some("id_number"));
    let commits = b.eval("return document.querySelectorAll(\"form[action$='/commit']\").length;").await;
    assert_eq!(commits.as_i64(), Some(0), "no confirm button while the name is unmapped");
    look(&b, "census-mapping").await;

    // Saving without the name keeps the choices and says what is missing.
    b.click("#mapping-form button[type=submit]").await;
    b.wait_until(20, "the mapping error", async |b| !text_of(b, "#mapping-error").await.is_empty()).await;
    let kept = b.eval("return document.querySelector('select[name=col_1]').value;").await;
    assert_eq!(kept.as_str(), Some("id_number"), "the form keeps its input");
    assert_eq!(app.store().list_rounds().await.expect("rounds").len(), 0);

    // Mapping the name column leads to the preview, which commits.
    b.eval("document.querySelector('select[name=col_0]').value = 'name'; return null;").await;
    b.click("#mapping-form button[type=submit]").await;
    b.wait_until(20, "the preview", async |b| {
        b.eval("return document.querySelectorAll(\"form[action$='/commit']\").length;").await.as_i64() == Some(1)
    })
    .await;
    let preview = b.body_text().await;
    assert!(!preview.contains("缺少姓名") && !preview.contains("Name missing"), "{preview}");
    look(&b, "census-mapped-preview").await;
    b.click("form[action$='/commit'] button[type=submit]").await;
    b.wait_until(20, "the round's page", async |b| path_of(b).await.starts_with("/census/rounds/")).await;
    let people = app.store().list_residents(&Default::default(), None, 10).await.expect("residents").items;
    let mut names: Vec<String> = people.into_iter().map(|r| r.name).collect();
    names.sort();
    assert_eq!(names, vec!["林美华".to_string(), "陈建国".to_string()]);
    b.close().await;
    let _ = stop.send(());
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&dir);
    app.finish().await;
}
