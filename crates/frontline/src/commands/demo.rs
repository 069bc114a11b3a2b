//! `frontline demo`: a synthetic development-zone district, one account per
//! role, served on localhost. The first run seeds; later runs reuse the data.

use std::time::Instant;

use anyhow::Context;
use frontline_domain::access::Role;
use frontline_domain::date::Date;
use frontline_domain::passwords::check_password;
use frontline_domain::synth::SynthOptions;
use frontline_store::accounts::NewUser;
use frontline_store::{now_ms, Actor, Store};

use super::user::generate_password;
use crate::cli::DemoArgs;
use crate::config::Config;

/// Display names of the demo accounts, and their working groups.
const DEMO_ACCOUNTS: [(Role, &str, Option<&str>); 7] = [
    (Role::Commander, "刘指挥长", None),
    (Role::Deputy, "黄副指挥长", None),
    (Role::GroupLead, "陈组长", Some("community_service")),
    (Role::Staff, "林工作人员", Some("community_service")),
    (Role::Volunteer, "郑志愿者", Some("special_groups")),
    (Role::Checkpoint, "卡口值守", Some("patrol")),
    (Role::Lab, "检测机构", Some("sampling")),
];

/// Seeds (first run only), sets the demo accounts' passwords, prints them, and serves.
pub async fn run(mut cfg: Config, args: DemoArgs, database_given: bool) -> anyhow::Result<()> {
    let fixed = fixed_password()?;
    if !database_given {
        std::fs::create_dir_all(&args.data).with_context(|| format!("creating {}", args.data.display()))?;
        cfg.database_url = format!("sqlite://{}", args.data.join("frontline.db").display());
    }
    cfg.listen.clone_from(&args.listen);
    let store = super::open(&cfg.database_url).await?;
    let today = match &args.today {
        Some(t) => Date::parse_iso(t).with_context(|| format!("--today {t}: expected YYYY-MM-DD"))?,
        None => Date::from_unix_ms(now_ms(), cfg.web.rules.utc_offset_minutes),
    };
    if store.has_places().await? {
        println!("Reusing the demo district in {}", frontline_store::db::redact_url(&cfg.database_url));
    } else {
        let started = Instant::now();
        let opts = SynthOptions { residents: args.residents, seed: args.seed, today };
        let report = store.seed_synthetic(&Actor::system("demo"), &opts).await?;
        println!(
            "Seeded {} residents in {} households, {} buildings, {} compounds in {:.1} s",
            report.residents,
            report.households,
            report.buildings,
            report.compounds,
            started.elapsed().as_secs_f64()
        );
    }
    let accounts = ensure_accounts(&store, fixed).await?;
    let url = format!("http://{}", cfg.listen);
    println!();
    println!("Frontline demo: {url}");
    println!("Accounts (user name / password):");
    for (name, password) in &accounts {
        println!("  {name:<12} {password}");
    }
    println!();
    if args.no_serve {
        store.close().await;
        return Ok(());
    }
    super::serve::serve(store, &cfg, None).await
}

/// `FRONTLINE_DEMO_PASSWORD`, if set, checked against the password rule for every demo account.
fn fixed_password() -> anyhow::Result<Option<String>> {
    let Some(p) = std::env::var("FRONTLINE_DEMO_PASSWORD").ok().filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    for (role, _, _) in DEMO_ACCOUNTS {
        check_password(&p, role.code())
            .map_err(|problem| anyhow::anyhow!("FRONTLINE_DEMO_PASSWORD (for {}): {problem}", role.code()))?;
    }
    Ok(Some(p))
}

/// The demo volunteer's team.
pub const DEMO_TEAM: &str = "一队";

/// Creates the demo accounts or resets their passwords: to `FRONTLINE_DEMO_PASSWORD`, or fresh random ones.
async fn ensure_accounts(store: &Store, fixed: Option<String>) -> anyhow::Result<Vec<(String, String)>> {
    let groups = store.list_groups().await?;
    let actor = Actor::system("demo");
    let mut out = Vec::new();
    for (role, display, group) in DEMO_ACCOUNTS {
        let username = role.code().to_string();
        let password = match &fixed {
            Some(p) => p.clone(),
            None => generate_password(&username)?,
        };
        let hash = frontline_web::auth::hash_password(password.clone()).await?;
        match store.user_by_name(&username).await {
            Ok(_) => store.set_password(&actor, &username, &hash).await?,
            Err(frontline_store::StoreError::NotFound) => {
                let group_id = group.and_then(|code| groups.iter().find(|g| g.code == code).map(|g| g.id));
                let new = NewUser {
                    username: username.clone(),
                    display_name: display.into(),
                    password_hash: hash,
                    role,
                    group_id,
                };
                store.create_user(&actor, &new).await?;
                // The demo's volunteer works in team 一队: a round that assigns
                // buildings to 一队 opens those buildings to them.
                if role == Role::Volunteer {
                    store.set_user_team(&actor, &username, Some(DEMO_TEAM)).await?;
                }
            }
            Err(e) => return Err(e.into()),
        }
        out.push((username, password));
    }
    Ok(out)
}
