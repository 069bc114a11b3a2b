//! People who left: confirming a round — committing its import, or, for a
//! round committed before that, confirming it on its own — records a departure
//! for everyone it reports gone (no row at all, within its scope). A departed resident leaves
//! their household, so every count of a building — base numbers, building
//! pages, sampling rounds' expected counts — no longer holds them. Each
//! departure keeps a state (moved out, away, deceased, transferred), and can be
//! undone: restoring puts the person back in their household. A later sheet
//! naming them again closes the departure by itself.

use serde::Serialize;
use serde_json::json;
use sqlx::{AnyConnection, Row};

use super::leavers::leavers;
use crate::audit::{self, Actor, Change};
use crate::db::Store;
use crate::error::StoreError;
use crate::now_ms;

/// SQL condition on residents `r`: not departed. Departed residents have no
/// building, so counts per building leave them out by themselves; counts over
/// everyone (the district, residents without an address) use this.
pub const PRESENT: &str = "NOT (r.building_id IS NULL AND EXISTS (SELECT 1 FROM resident_departures d \
     WHERE d.resident_id = r.id AND d.restored_at IS NULL))";

/// A departure recorded by a round's confirmation.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Departure {
    /// The departure's id.
    pub id: i64,
    /// The resident.
    pub resident_id: i64,
    /// The round whose confirmation recorded it.
    pub round_id: Option<i64>,
    /// `moved_out`, `away`, `deceased` or `transferred`.
    pub state: String,
    /// Who confirmed.
    pub departed_by: String,
    /// When (unix ms).
    pub departed_at: i64,
    /// Who restored the person (or `census:<round>` when a sheet named them again).
    pub restored_by: Option<String>,
    /// When (unix ms).
    pub restored_at: Option<i64>,
}

/// What confirming a round did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Confirmation {
    /// The round.
    pub round_id: i64,
    /// People who left the base numbers.
    pub departed: u64,
    /// People reported gone but named by a later round, left in place.
    pub kept: u64,
}

fn departure(r: &sqlx::any::AnyRow) -> Result<Departure, sqlx::Error> {
    Ok(Departure {
        id: r.try_get("id")?,
        resident_id: r.try_get("resident_id")?,
        round_id: r.try_get("round_id")?,
        state: r.try_get("state")?,
        departed_by: r.try_get("departed_by")?,
        departed_at: r.try_get("departed_at")?,
        restored_by: r.try_get("restored_by")?,
        restored_at: r.try_get("restored_at")?,
    })
}

const DEPARTURE_SELECT: &str = "SELECT id, resident_id, round_id, state, departed_by, departed_at, restored_by, \
    restored_at FROM resident_departures";

/// Closes the open departures of residents a round names again (they came back):
/// the import has already put them in the household of their row. Returns how many.
pub(super) async fn close_returned(
    conn: &mut AnyConnection,
    round: i64,
    by: &str,
    now: i64,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE resident_departures SET restored_by = $1, restored_at = $2 WHERE restored_at IS NULL \
         AND resident_id IN (SELECT resident_id FROM census_rows WHERE round_id = $3 AND resident_id IS NOT NULL \
                             AND outcome IN ('created', 'matched'))",
    )
    .bind(format!("census:{round}:{by}"))
    .bind(now)
    .bind(round)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Records the departure of `ids` (state `moved_out`, by the confirmation of
/// `round`) and takes them out of their households, in sets; people who have
/// an open departure already are left alone. Returns how many left.
async fn depart(conn: &mut AnyConnection, ids: &[i64], round: i64, by: &str, now: i64) -> Result<u64, StoreError> {
    let mut departed = 0;
    for chunk in ids.chunks(500) {
        let list = chunk.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        departed += sqlx::query(&format!(
            "INSERT INTO resident_departures (resident_id, round_id, state, household_id, building_id, departed_by, \
             departed_at) SELECT r.id, $1, 'moved_out', r.household_id, r.building_id, $2, $3 FROM residents r \
             WHERE r.id IN ({list}) AND NOT EXISTS (SELECT 1 FROM resident_departures d \
                                                   WHERE d.resident_id = r.id AND d.restored_at IS NULL)"
        ))
        .bind(round)
        .bind(by)
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        let these = format!(
            "SELECT resident_id FROM resident_departures WHERE round_id = $2 AND departed_at = $1 \
             AND restored_at IS NULL AND resident_id IN ({list})"
        );
        sqlx::query(&format!(
            "UPDATE resident_addresses SET to_at = $1 WHERE to_at IS NULL AND resident_id IN ({these})"
        ))
        .bind(now)
        .bind(round)
        .execute(&mut *conn)
        .await?;
        sqlx::query(&format!(
            "UPDATE residents SET household_id = NULL, building_id = NULL, updated_at = $1 WHERE id IN ({these})"
        ))
        .bind(now)
        .bind(round)
        .execute(&mut *conn)
        .await?;
    }
    Ok(departed)
}

/// What confirming a round found and did, for the import's summary.
pub(super) struct Confirmed {
    /// The people reported gone.
    pub(super) ids: Vec<i64>,
    pub(super) gone: u64,
    pub(super) to_check: u64,
    pub(super) unresolved: u64,
    pub(super) departed: u64,
}

/// Confirms the round being imported, in its transaction: the people it
/// reports gone leave the base numbers (a dry run rolls it all back).
pub(super) async fn confirm_import(
    conn: &mut AnyConnection,
    round: i64,
    by: &str,
    now: i64,
) -> Result<Confirmed, StoreError> {
    let l = leavers(conn, round).await?;
    let ids: Vec<i64> = l.gone.iter().map(|(id, _)| *id).collect();
    let departed = depart(conn, &ids, round, by, now).await?;
    sqlx::query("UPDATE census_rounds SET confirmed_by = $1, confirmed_at = $2 WHERE id = $3")
        .bind(by)
        .bind(now)
        .bind(round)
        .execute(&mut *conn)
        .await?;
    Ok(Confirmed {
        gone: ids.len() as u64,
        ids,
        to_check: l.to_check.len() as u64,
        unresolved: l.unresolved.len() as u64,
        departed,
    })
}

impl Store {
    /// Confirms a round committed without confirmation (before rounds were
    /// confirmed as they were imported): everyone it reports gone (no row in
    /// its sheet, within its scope — never a person a refused row may stand
    /// for) leaves the base numbers as `moved_out`. People a later round names
    /// are left in place. Audited; a round is confirmed once.
    pub async fn confirm_round(&self, actor: &Actor, round: i64) -> Result<Confirmation, StoreError> {
        let mut tx = self.pool.begin().await?;
        crate::db::take_write_lock(&mut tx, self.backend()).await?;
        let now = now_ms();
        let claimed = sqlx::query(
            "UPDATE census_rounds SET confirmed_by = $1, confirmed_at = $2 WHERE id = $3 AND confirmed_at IS NULL",
        )
        .bind(&actor.name)
        .bind(now)
        .bind(round)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            self.get_round(round).await?;
            return Err(StoreError::Conflict { constraint: "census_rounds_confirmed".into() });
        }
        let gone: Vec<i64> = leavers(&mut tx, round).await?.gone.into_iter().map(|(id, _)| id).collect();
        let mut named_later: std::collections::HashSet<i64> = std::collections::HashSet::new();
        for chunk in gone.chunks(500) {
            let list = chunk.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            let rows: Vec<(i64,)> = sqlx::query_as(&format!(
                "SELECT DISTINCT resident_id FROM census_rows WHERE round_id > $1 \
                 AND outcome IN ('created', 'matched') AND resident_id IN ({list})"
            ))
            .bind(round)
            .fetch_all(&mut *tx)
            .await?;
            named_later.extend(rows.into_iter().map(|(id,)| id));
        }
        let leaving: Vec<i64> = gone.iter().copied().filter(|id| !named_later.contains(id)).collect();
        let departed = depart(&mut tx, &leaving, round, &actor.name, now).await?;
        let out = Confirmation { round_id: round, departed, kept: gone.len() as u64 - departed };
        let change = Change {
            action: "census.confirm",
            entity: "census_round",
            entity_id: Some(round.to_string()),
            before: None,
            after: Some(json!(out)),
        };
        audit::record(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// The departures a round's confirmation recorded, open or restored.
    pub async fn round_departures(&self, round: i64) -> Result<Vec<Departure>, StoreError> {
        let rows = sqlx::query(&format!("{DEPARTURE_SELECT} WHERE round_id = $1 ORDER BY id"))
            .bind(round)
            .fetch_all(self.pool())
            .await?;
        Ok(rows.iter().map(departure).collect::<Result<_, _>>()?)
    }

    /// A resident's open departure, if they left.
    pub async fn open_departure(&self, resident: i64) -> Result<Option<Departure>, StoreError> {
        let row = sqlx::query(&format!("{DEPARTURE_SELECT} WHERE resident_id = $1 AND restored_at IS NULL"))
            .bind(resident)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.as_ref().map(departure).transpose()?)
    }

    /// Changes why a departed resident left (one of
    /// `frontline_domain::census::DEPARTURE_STATES`, checked by the caller). Audited.
    pub async fn set_departure_state(
        &self,
        actor: &Actor,
        resident: i64,
        state: &str,
    ) -> Result<Departure, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!("{DEPARTURE_SELECT} WHERE resident_id = $1 AND restored_at IS NULL"))
            .bind(resident)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut d = departure(&row)?;
        sqlx::query("UPDATE resident_departures SET state = $1 WHERE id = $2")
            .bind(state)
            .bind(d.id)
            .execute(&mut *tx)
            .await?;
        let change = Change {
            action: "resident.departure_state",
            entity: "resident",
            entity_id: Some(resident.to_string()),
            before: Some(json!({"state": d.state})),
            after: Some(json!({"state": state})),
        };
        audit::record(&mut tx, actor, change).await?;
        tx.commit().await?;
        d.state = state.to_string();
        Ok(d)
    }

    /// Brings a departed resident back into the household they left. Audited.
    pub async fn restore_resident(&self, actor: &Actor, resident: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        crate::db::take_write_lock(&mut tx, self.backend()).await?;
        // The departure, its state and the household left, and the household the person has now.
        type Open = (i64, String, Option<i64>, Option<i64>, Option<i64>);
        let row: Option<Open> = sqlx::query_as(
            "SELECT d.id, d.state, d.household_id, d.building_id, r.household_id FROM resident_departures d \
             JOIN residents r ON r.id = d.resident_id WHERE d.resident_id = $1 AND d.restored_at IS NULL",
        )
        .bind(resident)
        .fetch_optional(&mut *tx)
        .await?;
        let (id, state, household, building, now_in) = row.ok_or(StoreError::NotFound)?;
        let now = now_ms();
        // Someone who has a household again (placed since) stays where they are.
        if now_in.is_none() {
            sqlx::query("UPDATE residents SET household_id = $1, building_id = $2, updated_at = $3 WHERE id = $4")
                .bind(household)
                .bind(building)
                .bind(now)
                .bind(resident)
                .execute(&mut *tx)
                .await?;
            if household.is_some() {
                sqlx::query(
                    "INSERT INTO resident_addresses (resident_id, household_id, from_at, to_at, reason) \
                     VALUES ($1, $2, $3, NULL, $4)",
                )
                .bind(resident)
                .bind(household)
                .bind(now)
                .bind(format!("restored:{id}"))
                .execute(&mut *tx)
                .await?;
            }
        }
        sqlx::query("UPDATE resident_departures SET restored_by = $1, restored_at = $2 WHERE id = $3")
            .bind(&actor.name)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let change = Change {
            action: "resident.restore",
            entity: "resident",
            entity_id: Some(resident.to_string()),
            before: Some(json!({"departure": id, "state": state})),
            after: Some(json!({"household_id": household, "building_id": building})),
        };
        audit::record(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(())
    }
}
