//! Census imports through the API and the pages: messy files generated here,
//! hostile files refused with specific errors and nothing written, the upload →
//! preview → commit path, column mapping saved per source, two rounds reconciled.

use std::time::Instant;

use crate::support::{get_page, post_form, Answer, TestApp};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use frontline_domain::access::Role;
use frontline_import::generate::{
    census_csv, census_xlsx, random_bytes, wide_csv, zip_bomb_xlsx, CensusFileSpec, GeneratedStats, OutEncoding,
};
use frontline_store::Backend;

fn spec(rows: usize, encoding: OutEncoding, messy: bool) -> CensusFileSpec {
    CensusFileSpec { rows, seed: 7, encoding, title_row: messy, messy, residents: Vec::new() }
}

fn csv(s: &CensusFileSpec) -> (Vec<u8>, GeneratedStats) {
    let mut out = Vec::new();
    let stats = census_csv(s, &mut out).expect("generate");
    (out, stats)
}

pub(crate) async fn post_import(app: &TestApp, token: &str, query: &str, body: Vec<u8>) -> Answer {
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/census/imports?{query}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::from(body))
        .expect("request");
    app.send(req).await
}

async fn nothing_written(app: &TestApp) {
    assert!(app.store().list_rounds().await.expect("rounds").is_empty());
    assert!(app.store().list_residents(&Default::default(), None, 1).await.expect("residents").items.is_empty());
}

#[tokio::test]
async fn messy_csv_counts_match_what_was_injected() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    for encoding in [OutEncoding::Utf8Bom, OutEncoding::Gb18030] {
        let (bytes, stats) = csv(&spec(600, encoding, true));
        let res = post_import(&app, &staff, "round=R1&compound=海月花园&file_name=r1.csv&dry_run=true", bytes).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        let s = res.json();
        let data = u64::try_from(stats.data_rows).expect("fits");
        let skipped = u64::try_from(stats.blank_rows + stats.totals_rows).expect("fits");
        assert_eq!(s["rows_read"], data + skipped, "{encoding:?}: {s}");
        assert_eq!(s["rows_skipped"], skipped);
        assert_eq!(s["duplicates_in_file"], u64::try_from(stats.duplicates).expect("fits"));
        let count = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
        assert!(
            stats.precision_lost > 0 && stats.bad_phones > 0 && stats.fifteen_digit > 0,
            "the file is messy: {stats:?}"
        );
        assert_eq!(count(&s["refused"]["id_precision_lost"]), u64::try_from(stats.precision_lost).expect("fits"));
        assert_eq!(count(&s["warnings"]["phone_invalid"]), u64::try_from(stats.bad_phones).expect("fits"));
        assert_eq!(count(&s["warnings"]["id_converted_from_15"]), u64::try_from(stats.fifteen_digit).expect("fits"));
        let created = data - u64::try_from(stats.duplicates + stats.precision_lost).expect("fits");
        assert_eq!(s["residents_created"], created);
        assert_eq!(s["committed"], false);
        assert!(s["issues"]
            .as_array()
            .is_some_and(|i| i.iter().any(|x| x["code"] == "id_precision_lost" && x["row_number"].as_u64().is_some())));
    }
    nothing_written(&app).await;
    app.finish().await;
}

#[tokio::test]
async fn all_or_nothing_unless_valid_rows_are_accepted() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let (bytes, stats) = csv(&spec(600, OutEncoding::Utf8, true));
    assert!(stats.precision_lost > 0, "{stats:?}");
    let refused = post_import(&app, &staff, "round=R1&compound=海月花园", bytes.clone()).await;
    assert_eq!(refused.status, StatusCode::OK);
    assert_eq!(refused.json()["committed"], false);
    nothing_written(&app).await;
    let accepted = post_import(&app, &staff, "round=R1&compound=海月花园&accept_valid=true", bytes.clone()).await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.text());
    let created = accepted.json()["residents_created"].as_u64().expect("created");
    assert_eq!(created, u64::try_from(stats.data_rows - stats.duplicates - stats.precision_lost).expect("fits"));
    let again = post_import(&app, &staff, "round=R1&compound=海月花园&accept_valid=true", bytes.clone()).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "the round name is taken");
    assert_eq!(again.json()["error"]["fields"][0]["field"], "round");
    let second = post_import(&app, &staff, "round=R2&compound=海月花园&accept_valid=true", bytes).await;
    assert_eq!(second.json()["residents_created"], 0, "imports never duplicate people");
    assert_eq!(second.json()["residents_matched"], created);
    let round = second.json()["round_id"].as_i64().expect("round");
    let rec = app.get(&format!("/api/v1/census/rounds/{round}/reconcile"), &staff).await.json();
    assert_eq!(rec["totals"]["still_present"], created);
    assert_eq!(rec["totals"]["gone"], 0);
    let base = app.get("/api/v1/census/base", &staff).await.json();
    assert_eq!(base["district"]["residents"], created);
    app.finish().await;
}

#[tokio::test]
async fn xlsx_imports_like_csv() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let s = spec(80, OutEncoding::Utf8, false);
    let bytes = census_xlsx(&s).expect("xlsx");
    let res = post_import(&app, &staff, "round=R1&compound=海月花园&file_name=r1.xlsx", bytes).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    assert_eq!(res.json()["residents_created"], 80);
    app.finish().await;
}

#[tokio::test]
async fn hostile_files_get_specific_errors_within_seconds_and_write_nothing() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let no_identity = "联系电话,住址\n13800000000,3号楼1单元101\n".as_bytes().to_vec();
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend(random_bytes(4_000, 3));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "empty"),
        ("random", random_bytes(1_000_000, 7), "not_a_spreadsheet"),
        ("big random", random_bytes(100 * 1024 * 1024, 8), "not_a_spreadsheet"),
        ("pdf", pdf, "not_a_spreadsheet"),
        ("10,000 columns", wide_csv(10_000), "too_many_columns"),
        ("zip bomb", zip_bomb_xlsx(), "zip_bomb"),
        ("no ID or name column", no_identity, "no_identity_column"),
    ];
    for (what, bytes, code) in cases {
        let started = Instant::now();
        let res = post_import(&app, &staff, "round=R1&compound=海月花园&file_name=x.xlsx", bytes).await;
        let took = started.elapsed();
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {}", res.text());
        let field = &res.json()["error"]["fields"][0];
        assert_eq!((field["field"].as_str(), field["code"].as_str()), (Some("file"), Some(code)), "{what}");
        assert!(field["message"].as_str().is_some_and(|m| !m.is_empty()));
        eprintln!("{what}: refused in {took:?}");
    }
    nothing_written(&app).await;
    let missing = post_import(&app, &staff, "compound=海月花园", csv(&spec(3, OutEncoding::Utf8, false)).0).await;
    assert_eq!(missing.json()["error"]["fields"][0]["field"], "round");
    let volunteer = app.token(Role::Volunteer).await;
    assert_eq!(post_import(&app, &volunteer, "round=R&compound=C", Vec::new()).await.status, StatusCode::FORBIDDEN);
    app.finish().await;
}

pub(crate) async fn login(app: &TestApp, user: &str) -> (String, String) {
    let session = crate::support::browser_login(app, user).await;
    let csrf = crate::support::field(&get_page(app, &session, "/census").await.text(), "csrf");
    (session, csrf)
}

fn multipart(fields: &[(&str, &str)], file_name: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----frontline-test-boundary";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes());
    }
    body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes());
    body.extend(file);
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub(crate) async fn upload(app: &TestApp, session: &str, csrf: &str, round: &str, source: &str, file: &[u8]) -> String {
    let (ctype, body) =
        multipart(&[("csrf", csrf), ("round", round), ("compound", "海月花园"), ("source", source)], "sheet.csv", file);
    let req = Request::post("/census/upload")
        .header(header::COOKIE, format!("frontline_session={session}"))
        .header(header::CONTENT_TYPE, ctype)
        .body(Body::from(body))
        .expect("req");
    let res = app.send(req).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    res.header("location").expect("preview location")
}

pub(crate) fn enc(s: &str) -> String {
    frontline_web::error::percent_encode(s)
}

#[tokio::test]
async fn upload_preview_commit_and_reconcile_in_the_browser() {
    let app = TestApp::new(Backend::Sqlite).await;
    let (session, csrf) = login(&app, "group_lead").await;
    let (bytes, stats) = csv(&spec(400, OutEncoding::Gb18030, true));
    assert!(stats.precision_lost > 0, "{stats:?}");
    let preview = upload(&app, &session, &csrf, "第一轮", "", &bytes).await;
    assert!(preview.starts_with("/census/uploads/"));
    let page = get_page(&app, &session, &preview).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(
        html.contains("导入预览") && !html.contains("id_precision_lost") && html.contains("仅导入有效行"),
        "{html}"
    );
    let token = preview.trim_start_matches("/census/uploads/").split('?').next().expect("token").to_string();
    let report = get_page(
        &app,
        &session,
        &format!("/census/uploads/{token}/report.xlsx?{}", preview.split('?').nth(1).unwrap_or("")),
    )
    .await;
    assert_eq!(report.status, StatusCode::OK);
    assert!(report.body.starts_with(b"PK"), "an XLSX file");
    let rows = frontline_import::decode(&report.body, Some("r.xlsx"), &Default::default()).expect("report decodes");
    let refused_rows = rows.rows.iter().filter(|r| r.get(5).is_some_and(|c| c.contains("refused"))).count();
    assert_eq!(refused_rows, stats.precision_lost);
    assert!(app.store().list_rounds().await.expect("rounds").is_empty(), "the preview wrote nothing");

    let commit = post_form(
        &app,
        &session,
        &format!("/census/uploads/{token}/commit"),
        format!("csrf={csrf}&round={}&compound={}&source=&accept_valid=1", enc("第一轮"), enc("海月花园")),
    )
    .await;
    assert_eq!(commit.status, StatusCode::SEE_OTHER, "{}", commit.text());
    let round_page = commit.header("location").expect("round page");
    assert!(round_page.starts_with("/census/rounds/"));
    let html = get_page(&app, &session, &round_page).await.text();
    assert!(html.contains("第一轮") && html.contains("这是该小区的第一轮"), "{html}");
    let export = get_page(&app, &session, &format!("{round_page}/reconcile.xlsx")).await;
    assert!(export.body.starts_with(b"PK"));
    let base = get_page(&app, &session, "/census/base").await.text();
    assert!(base.contains("底数") && base.contains("全辖区"));
    let base_x = get_page(&app, &session, "/census/base.xlsx").await;
    let sheet = frontline_import::decode(&base_x.body, Some("b.xlsx"), &Default::default()).expect("base decodes");
    let district = sheet.rows.last().expect("district row");
    let created = stats.data_rows - stats.duplicates - stats.precision_lost;
    assert_eq!(district.get(2).map(String::as_str), Some(created.to_string().as_str()), "{district:?}");
    app.finish().await;
}

#[tokio::test]
async fn unknown_headers_are_mapped_once_per_source() {
    let app = TestApp::new(Backend::Sqlite).await;
    let (session, csrf) = login(&app, "staff").await;
    let id = crate::support::id_number("350602", 1970, 1, 2, 33);
    let sheet = format!("住户,号,手机尾\n王五,{id},13800000000\n");
    let preview = upload(&app, &session, &csrf, "第一轮", "网格员老郑", sheet.as_bytes()).await;
    let page = get_page(&app, &session, &preview).await.text();
    assert!(
        page.contains("header_row") && page.contains("col_0"),
        "the mapping form is shown: {}",
        &page[page.find("<main").unwrap_or(0)..]
    );
    let token = preview.trim_start_matches("/census/uploads/").split('?').next().expect("token").to_string();
    let body = format!(
        "csrf={csrf}&round={}&compound={}&source={}&header_row=0&col_0=name&col_1=id_number&col_2=phone",
        enc("第一轮"),
        enc("海月花园"),
        enc("网格员老郑")
    );
    let mapped = post_form(&app, &session, &format!("/census/uploads/{token}/mapping"), body).await;
    assert_eq!(mapped.status, StatusCode::SEE_OTHER, "{}", mapped.text());
    let again = get_page(&app, &session, &mapped.header("location").expect("preview")).await.text();
    assert!(again.contains("确认导入") && !again.contains("col_0"), "{again}");
    // The next file from the same source needs no mapping.
    let staff = app.token(Role::Staff).await;
    let res = post_import(
        &app,
        &staff,
        &format!("round=R2&compound={}&source={}", enc("海月花园"), enc("网格员老郑")),
        sheet.into_bytes(),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    assert_eq!(res.json()["residents_created"], 1);
    app.finish().await;
}

/// Every request gets the configured body limit, API and pages alike; only the
/// upload routes take more, up to their own limit.
#[tokio::test]
async fn bodies_are_limited_everywhere_but_uploads_take_more() {
    let config = frontline_web::WebConfig { body_limit_bytes: 4096, upload_limit_bytes: 1 << 20, ..Default::default() };
    let app = TestApp::with_config(Backend::Sqlite, config).await;
    let staff = app.token(Role::Staff).await;
    let big_json = serde_json::json!({ "name": "x".repeat(5000) });
    let api = app.api(Method::POST, "/api/v1/residents", Some(&staff), Some(big_json)).await;
    assert_eq!((api.status, api.error_code().as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"));
    let form = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("username=u&password={}", "p".repeat(5000))))
        .expect("request");
    assert_eq!(app.send(form).await.status, StatusCode::PAYLOAD_TOO_LARGE);
    let (bytes, _) = csv(&spec(200, OutEncoding::Utf8Bom, false));
    assert!(bytes.len() > 4096, "the file is larger than the body limit");
    let upload = post_import(&app, &staff, "round=R1&compound=海月花园&file_name=r1.csv&dry_run=true", bytes).await;
    assert_eq!(upload.status, StatusCode::OK, "{}", upload.text());
    let (huge, _) = csv(&spec(20_000, OutEncoding::Utf8Bom, false));
    assert!(huge.len() > 1 << 20, "the file is larger than the upload limit");
    let refused = post_import(&app, &staff, "round=R1&compound=海月花园&file_name=r1.csv&dry_run=true", huge).await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    app.finish().await;
}

/// Two likely duplicates both sampled in the same round cannot be merged: the
/// API answers 409 with a specific code and the round named in the message (in
/// the request's language), the page shows the same refusal, and nothing changes.
#[tokio::test]
async fn merging_two_people_sampled_in_the_same_round_is_a_specific_conflict() {
    use frontline_store::sampling::{NewRound, Scan};
    let app = TestApp::new(Backend::Sqlite).await;
    let lead = app.token(Role::GroupLead).await;
    let (one, two) =
        (crate::support::id_number("350602", 1950, 3, 4, 11), crate::support::id_number("350602", 1950, 3, 4, 31));
    let sheet = format!(
        "姓名,身份证号码,联系电话,楼栋,单元,房号\n陈建国,{one},13800000001,3号楼,1单元,1301\n陈建国,{two},13800000001,3号楼,1单元,1302\n"
    );
    let imported =
        post_import(&app, &lead, &format!("round=R1&compound={}", enc("海月花园")), sheet.into_bytes()).await;
    assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.text());
    let reviews = app.get("/api/v1/census/reviews?status=open", &lead).await.json();
    let review = &reviews[0];
    let (id, a, b) = (review["id"].as_i64().expect("id"), review["resident_a"].as_i64(), review["resident_b"].as_i64());
    let store = app.store();
    let system = frontline_store::Actor::system("test");
    let buildings = store.list_buildings(None, None, 10).await.expect("buildings").items.iter().map(|b| b.id).collect();
    let new = NewRound {
        name: "六月十三日全员核酸".into(),
        pool_size: 5,
        mode: "door_to_door".into(),
        deadline: None,
        buildings,
        teams: vec![],
    };
    let round = store.create_sampling_round(&system, &new).await.expect("round").id;
    let scans: Vec<Scan> = [(a, "ZZ0001"), (b, "ZZ0002")]
        .iter()
        .enumerate()
        .map(|(i, (resident, tube))| Scan {
            key: format!("k{i}"),
            round,
            tube: (*tube).into(),
            resident: *resident,
            refusal: None,
            at: 1_000,
        })
        .collect();
    assert_eq!(app.state.scans().submit("test".into(), scans).await.expect("scans"), vec!["accepted", "accepted"]);

    let req = Request::post(format!("/api/v1/census/reviews/{id}/merge"))
        .header(header::AUTHORIZATION, format!("Bearer {lead}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT_LANGUAGE, "en")
        .body(Body::from(serde_json::json!({ "keep": a }).to_string()))
        .expect("request");
    let refused = app.send(req).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text());
    let error = &refused.json()["error"];
    assert_eq!(error["code"], "conflict");
    let field = &error["fields"][0];
    assert_eq!((field["field"].as_str(), field["code"].as_str()), (Some("review"), Some("sampled_in_same_round")));
    let message = field["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("Both residents were sampled") && message.contains("六月十三日全员核酸"), "{message}");

    let (session, csrf) = login(&app, "group_lead").await;
    let page = post_form(
        &app,
        &session,
        format!("/census/reviews/{id}/merge"),
        format!("csrf={csrf}&keep={}", b.unwrap_or(0)),
    )
    .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.text().contains("两人在同一采样轮次（六月十三日全员核酸）都有采样记录"), "{}", page.text());
    // The refusal is shown beside the pair, on the reviews page itself, with the buttons to decide again.
    assert!(page.text().contains("id=\"f-review-error\""), "{}", page.text());
    assert!(page.text().contains(&format!("/census/reviews/{id}/keep-apart")), "not the reviews page");
    assert_eq!(app.get("/api/v1/census/reviews?status=open", &lead).await.json().as_array().map(Vec::len), Some(1));
    assert_eq!(app.get("/api/v1/census/merges", &lead).await.json().as_array().map(Vec::len), Some(0));
    app.finish().await;
}
