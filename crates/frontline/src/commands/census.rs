//! `frontline census …`: confirming a round and the people who left, from the
//! command line (audited as the system actor `cli`).

use anyhow::Context;
use frontline_store::{Actor, Store};

use crate::cli::CensusCommand;

/// Runs a `census` subcommand.
pub async fn run(store: &Store, cmd: CensusCommand) -> anyhow::Result<()> {
    let actor = Actor::system("cli");
    match cmd {
        CensusCommand::Confirm { round } => {
            let done = store.confirm_round(&actor, round).await.with_context(|| format!("confirming round {round}"))?;
            println!("round {round} confirmed: {} left the base numbers, {} kept", done.departed, done.kept);
        }
        CensusCommand::Restore { resident } => {
            store.restore_resident(&actor, resident).await.with_context(|| format!("restoring resident {resident}"))?;
            println!("resident {resident} restored");
        }
        CensusCommand::State { resident, state } => {
            anyhow::ensure!(
                frontline_domain::census::DEPARTURE_STATES.contains(&state.as_str()),
                "state must be one of {}",
                frontline_domain::census::DEPARTURE_STATES.join(", ")
            );
            store
                .set_departure_state(&actor, resident, &state)
                .await
                .with_context(|| format!("resident {resident}"))?;
            println!("resident {resident}: {state}");
        }
    }
    Ok(())
}
