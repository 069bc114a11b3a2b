//! Rows of a census sheet repeating an earlier row's document: every one is
//! reported with the row it repeats, the person and the address (never the ID
//! number); one naming somebody else is a conflict held for review.

use crate::census::{enc, login, post_import, upload};
use crate::support::{get_page, id_number, post_form, TestApp};
use axum::http::StatusCode;
use frontline_domain::access::Role;
use frontline_store::Backend;
use serde_json::json;

/// Row 2 蔡敏, row 3 蔡敏 again (the same person twice), row 4 洪华 with 蔡敏's
/// ID number (a conflict), row 5 another person.
fn sheet() -> (String, String) {
    let cai = id_number("350602", 1961, 4, 9, 22);
    let other = id_number("350602", 1990, 2, 3, 41);
    let text = format!(
        "姓名,身份证号码,联系电话,楼栋,单元,房号\n\
         蔡敏,{cai},13800000001,3号楼,1单元,1302\n\
         蔡 敏,{cai},13800000001,3号楼,1单元,1302\n\
         洪华,{cai},13900000002,5号楼,2单元,0501\n\
         林一,{other},13900000003,5号楼,2单元,0502\n"
    );
    (text, cai)
}

async fn duplicates_are_reported_and_conflicts_held(backend: Backend) {
    let app = TestApp::new(backend).await;
    let staff = app.token(Role::Staff).await;
    let (text, cai) = sheet();
    let query = format!("round=R1&compound={}", enc("海月花园"));
    let res = post_import(&app, &staff, &query, text.into_bytes()).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let s = res.json();
    assert_eq!(
        s["duplicate_rows"],
        json!([{"row": 3, "same_as_row": 2, "conflict": false}, {"row": 4, "same_as_row": 2, "conflict": true}])
    );
    assert_eq!(s["duplicates_in_file"], 2);
    assert_eq!(s["residents_created"], 2, "洪华's row wrote nobody");
    let issues = s["issues"].as_array().expect("issues");
    let line = |code: &str| issues.iter().find(|i| i["code"] == code).cloned().unwrap_or_default();
    let same = line("duplicate_row");
    assert_eq!((same["row_number"].as_u64(), same["name"].as_str()), (Some(3), Some("蔡 敏")), "{same}");
    let conflict = line("duplicate_conflict");
    assert_eq!(conflict["row_number"], 4, "{conflict}");
    assert_eq!(conflict["name"], "洪华");
    assert_eq!(conflict["address"], "5号楼 2单元 0501");
    assert_eq!(conflict["params"], json!([["row", "2"]]));
    assert!(!res.text().contains(&cai), "the report never shows a full ID number");

    // The conflict waits for review, tied to the document's holder.
    let round = s["round_id"].as_i64().expect("round");
    let conflicts = app.store().list_conflicts(Some(round)).await.expect("conflicts");
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    let c = &conflicts[0];
    assert_eq!((c.row_number, c.same_as_row, c.name.as_str(), c.status.as_str()), (4, 2, "洪华", "open"));
    let holder = app.store().get_resident(c.resident_id.expect("holder")).await.expect("resident");
    assert_eq!(holder.name, "蔡敏");
    let listed = app.get(&format!("/api/v1/census/conflicts?round={round}"), &staff).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text());
    assert_eq!(listed.json()[0]["name"], "洪华");
    assert_eq!(listed.json()[0]["same_as_row"], 2);
    let lead = app.token(Role::GroupLead).await;
    let id = c.id;
    let resolved =
        app.api(axum::http::Method::POST, &format!("/api/v1/census/conflicts/{id}/resolve"), Some(&lead), None).await;
    assert_eq!(resolved.status, StatusCode::NO_CONTENT, "{}", resolved.text());
    let after = app.get(&format!("/api/v1/census/conflicts?round={round}"), &staff).await.json();
    assert_eq!((after[0]["status"].as_str(), after[0]["decided_by"].is_string()), (Some("resolved"), true));
    // The committed round keeps the lines of its report.
    let kept = app.store().round_issues(round).await.expect("issues");
    assert_eq!(
        kept.iter().filter(|i| i.code.starts_with("duplicate_")).map(|i| i.row_number).collect::<Vec<_>>(),
        vec![3, 4]
    );
    app.finish().await;
}

#[tokio::test]
async fn duplicate_rows_are_listed_and_a_different_name_is_a_conflict_sqlite() {
    duplicates_are_reported_and_conflicts_held(Backend::Sqlite).await;
}

#[tokio::test]
async fn duplicate_rows_are_listed_and_a_different_name_is_a_conflict_postgres() {
    duplicates_are_reported_and_conflicts_held(Backend::Postgres).await;
}

#[tokio::test]
async fn the_page_report_and_its_xlsx_name_each_duplicate_and_the_conflict_is_reviewed() {
    let app = TestApp::new(Backend::Sqlite).await;
    let (session, csrf) = login(&app, "group_lead").await;
    let (text, cai) = sheet();
    let preview = upload(&app, &session, &csrf, "第二轮", "", text.as_bytes()).await;
    let html = get_page(&app, &session, &preview).await.text();
    assert!(html.contains("id=\"conflicts-card\""), "{html}");
    for expected in ["洪华", "5号楼 2单元 0501", "证件号码与第2行相同，但姓名不同", "与第2行是同一人"]
    {
        assert!(html.contains(expected), "{expected}: {html}");
    }
    assert!(!html.contains(&cai), "no full ID number on the page");

    let token = preview.trim_start_matches("/census/uploads/").split('?').next().expect("token").to_string();
    let query = preview.split('?').nth(1).unwrap_or("");
    let report = get_page(&app, &session, format!("/census/uploads/{token}/report.xlsx?{query}")).await;
    assert_eq!(report.status, StatusCode::OK);
    let sheet = frontline_import::decode(&report.body, Some("r.xlsx"), &Default::default()).expect("report");
    assert_eq!(sheet.rows[0][1], "姓名 Name");
    let row = |n: &str| sheet.rows.iter().find(|r| r[0] == n).cloned().unwrap_or_default();
    let conflict = row("4");
    assert_eq!((conflict[1].as_str(), conflict[2].as_str()), ("洪华", "5号楼 2单元 0501"), "{conflict:?}");
    assert!(conflict[5].contains("conflict") && conflict[7].contains("row 2"), "{conflict:?}");
    let same = row("3");
    assert!(same[5].contains("duplicate") && same[1] == "蔡 敏", "{same:?}");

    let commit = post_form(
        &app,
        &session,
        format!("/census/uploads/{token}/commit"),
        format!("csrf={csrf}&round={}&compound={}&source=", enc("第二轮"), enc("海月花园")),
    )
    .await;
    assert_eq!(commit.status, StatusCode::SEE_OTHER, "{}", commit.text());
    let round_page = commit.header("location").expect("round");
    let kept = get_page(&app, &session, format!("{round_page}/report.xlsx")).await;
    let kept = frontline_import::decode(&kept.body, Some("k.xlsx"), &Default::default()).expect("round report");
    assert!(kept.rows.iter().any(|r| r[0] == "4" && r[1] == "洪华"), "{:?}", kept.rows);

    let reviews = get_page(&app, &session, "/census/reviews").await.text();
    assert!(reviews.contains("id=\"conflicts-table\"") && reviews.contains("洪华"), "{reviews}");
    assert!(reviews.contains("蔡敏") && !reviews.contains(&cai), "the holder, masked: {reviews}");
    let conflict = app.store().list_conflicts(None).await.expect("conflicts").remove(0);
    let resolved =
        post_form(&app, &session, format!("/census/conflicts/{}/resolve", conflict.id), format!("csrf={csrf}")).await;
    assert_eq!(resolved.status, StatusCode::SEE_OTHER, "{}", resolved.text());
    let after = app.store().list_conflicts(None).await.expect("conflicts");
    assert_eq!((after[0].status.as_str(), after[0].decided_by.as_deref()), ("resolved", Some("group_lead")));
    let again =
        post_form(&app, &session, format!("/census/conflicts/{}/resolve", conflict.id), format!("csrf={csrf}")).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "resolved once");
    app.finish().await;
}
