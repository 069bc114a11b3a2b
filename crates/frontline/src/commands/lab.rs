//! `frontline lab …`: the lab's working list and corrections from the command
//! line, through the same store services as the API and pages (audited as `cli`).

use anyhow::{bail, Context};
use frontline_domain::sampling::{check_reason, LabResult, TubeCode};
use frontline_store::sampling::{AwaitingFilter, CorrectError};
use frontline_store::{now_ms, Actor, Store};

use crate::cli::LabCommand;
use crate::config::Config;

/// Runs a `lab` subcommand.
pub async fn run(store: &Store, cfg: &Config, cmd: LabCommand) -> anyhow::Result<()> {
    let rules = &cfg.web.rules.sampling;
    match cmd {
        LabCommand::Tubes { round, overdue } => {
            let now = now_ms();
            let before = |k: u32| now - i64::from(rules.result_due_hours(k)) * 3_600_000;
            let filter = AwaitingFilter { round, overdue_only: overdue, code: None };
            let mut after = None;
            let mut shown = 0;
            loop {
                let (page, total) = store.awaiting_tubes(&filter, before(1), before(2), after, 500).await?;
                if shown == 0 {
                    println!("{total} tubes awaiting a result");
                }
                for t in &page.items {
                    let mark = if t.overdue { "OVERDUE" } else { "waiting" };
                    println!("{}\t{}\t{}/{}\t{}\t{mark}", t.code, t.round_name, t.members, t.pool_size, t.sampler);
                    shown += 1;
                }
                match page.items.last() {
                    Some(last) if page.next.is_some() => after = Some((last.since, last.id)),
                    _ => break,
                }
            }
            Ok(())
        }
        LabCommand::Correct { tube, result, reason } => {
            let code = TubeCode::parse(&tube).map_err(|e| anyhow::anyhow!("tube code: {e}"))?;
            let Some(after) = LabResult::from_code(result.trim()).or_else(|| LabResult::parse(&result).ok()) else {
                bail!("unknown result {result:?}; use negative, abnormal or invalid");
            };
            let reason = check_reason(&reason).map_err(|e| anyhow::anyhow!("{e}"))?;
            let done = match store
                .correct_tube_result(&Actor::system("cli"), &code, after, &reason, rules.retest_deadline_hours)
                .await
            {
                Ok(done) => done,
                Err(CorrectError::Refused(e)) => bail!("{e}"),
                Err(CorrectError::Store(frontline_store::StoreError::NotFound)) => bail!("no tube {tube}"),
                Err(CorrectError::Store(e)) => return Err(e).context("correcting the result"),
            };
            println!("{}: {} -> {}; {} people affected", done.tube, done.before, done.after, done.affected.len());
            for a in &done.affected {
                println!("resident {}\t{}", a.resident, a.effect);
            }
            Ok(())
        }
    }
}
