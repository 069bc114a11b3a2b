//! Starting a round over some buildings in a real browser, on a phone (360 px)
//! and at a desk (1366 px): "none", then three buildings ticked by hand or one
//! compound's button, the count following; then closing the round from its
//! page through the confirmation. With `FRONTLINE_SCREENSHOTS` set to a
//! directory, each step leaves a PNG there.

use super::{log_in, path_of, serve, text_of};
use crate::support::webdriver::Browser;
use crate::support::{coded_resident, TestApp};
use frontline_domain::access::Role;
use frontline_store::{Actor, Backend};

async fn shot(b: &Browser, width: u32, name: &str) {
    if let Some(dir) = std::env::var_os("FRONTLINE_SCREENSHOTS") {
        // The whole page: the window as tall as the document.
        let height = b.eval("return document.documentElement.scrollHeight;").await.as_u64().unwrap_or(900);
        b.resize(width, u32::try_from(height.min(6000)).unwrap_or(900) + 140).await;
        b.screenshot(&std::path::Path::new(&dir).join(format!("{name}.png"))).await;
    }
}

async fn checked(b: &Browser) -> Vec<i64> {
    let script = "return Array.from(document.querySelectorAll('input[name=building]:checked')).map(function (e) { return Number(e.value); });";
    let mut ids: Vec<i64> =
        b.eval(script).await.as_array().map(|a| a.iter().filter_map(|v| v.as_i64()).collect()).unwrap_or_default();
    ids.sort_unstable();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_over_three_buildings_is_started_and_closed_in_the_browser() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let a = Actor::system("test");
    let s = app.store();
    let east = s.ensure_compound(&a, "海月花园").await.expect("compound");
    let west = s.ensure_compound(&a, "山水苑").await.expect("compound");
    let mut buildings = Vec::new();
    for (c, n) in [(east, 1), (east, 2), (east, 3), (west, 1), (west, 2), (west, 3), (west, 4)] {
        let b = s.ensure_building(&a, c, &format!("{n}号楼"), Some(n), Some(6)).await.expect("building");
        let u = s.ensure_unit(&a, b, "1单元", Some(1)).await.expect("unit");
        let h = s.ensure_household(&a, u, "101", Some(1)).await.expect("household");
        coded_resident(&app, &staff, "居民", u16::try_from(2 * buildings.len() + 61).expect("seq"), h).await;
        buildings.push(b);
    }
    let (base, stop, server) = serve(&app).await;
    let b = Browser::start(&[]).await;
    log_in(&b, &base, "group_lead").await;
    b.goto(&format!("{base}/lang/zh?next=/sampling")).await;

    for (width, name) in [(360, "手机轮"), (1366, "桌面轮")] {
        b.resize(width, 900).await;
        b.goto(&format!("{base}/sampling")).await;
        assert_eq!(checked(&b).await, buildings, "every building ticked to begin with");
        b.type_into("input[name=name]", name).await;
        b.click("button[data-select=none]").await;
        assert!(checked(&b).await.is_empty());
        assert_eq!(text_of(&b, "[data-selected]").await, "已选 0 栋");
        let chosen: Vec<i64> = if width == 360 {
            // By hand: three of the seven, across both compounds.
            let three = vec![buildings[0], buildings[3], buildings[6]];
            for id in &three {
                b.click(&format!("input[name=building][value='{id}']")).await;
            }
            three
        } else {
            b.click(&format!("button[data-select=compound][data-compound='{east}']")).await;
            buildings[..3].to_vec()
        };
        assert_eq!(checked(&b).await, chosen);
        assert_eq!(text_of(&b, "[data-selected]").await, "已选 3 栋");
        assert_eq!(path_of(&b).await, "/sampling", "selecting stays on the form, in place");
        shot(&b, width, &format!("rounds-new-{width}")).await;
        b.resize(width, 900).await;
        b.click("form.new-round > .actions button.primary").await;
        b.wait_until(10, "the round's page", async |b| path_of(b).await.starts_with("/sampling/rounds/")).await;
        let round: i64 = path_of(&b).await.rsplit('/').next().and_then(|r| r.parse().ok()).expect("round id");
        let r = app.store().get_sampling_round(round).await.expect("round");
        assert_eq!((r.name.as_str(), r.buildings.clone()), (name, chosen.clone()));
        assert_eq!(text_of(&b, "#totals [data-k=expected]").await, "3");
        shot(&b, width, &format!("rounds-page-{width}")).await;
        b.resize(width, 900).await;

        // Closing asks first, naming the round; only the second click closes it.
        b.click("#close-round").await;
        b.wait_until(10, "the confirmation", async |b| path_of(b).await.ends_with("/close")).await;
        assert!(text_of(&b, "#consequence").await.contains(name));
        assert_eq!(app.store().get_sampling_round(round).await.expect("round").status, "open");
        shot(&b, width, &format!("rounds-close-{width}")).await;
        b.resize(width, 900).await;
        b.click("#confirm-close").await;
        b.wait_until(10, "the closed round's page", async |b| !text_of(b, "#closed").await.is_empty()).await;
        assert_eq!(app.store().get_sampling_round(round).await.expect("round").status, "closed");
    }

    b.close().await;
    let _ = stop.send(());
    let _ = server.await;
    app.finish().await;
}
