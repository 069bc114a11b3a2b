//! Sampling rounds (核酸采样): rounds over buildings, scans binding residents to
//! pooled tubes (idempotent by the client's key), coverage, the missed list
//! (补采名单), and lab results that open retests or send people back to the list.

use std::collections::HashMap;

use frontline_domain::sampling::MissReason;
use serde::Serialize;
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::audit::{self, Actor, Change};
use crate::db::{rows_by_ids, take_turns, Store};
use crate::error::StoreError;
use crate::now_ms;

/// The tail of both writers' member insert. A person whose tube came back
/// invalid keeps a row with `valid = 0` and is on the missed list again; the
/// sweep (补采) binds them to a new tube, which replaces that row. A valid
/// binding is never replaced: the writers look it up in the same transaction
/// and refuse the scan (`already_in_tube`) before they write.
macro_rules! member_rebind {
    () => {
        " ON CONFLICT (round_id, resident_id) DO UPDATE SET tube_id = excluded.tube_id, \
         building_id = excluded.building_id, scanned_at = excluded.scanned_at, valid = 1 \
         WHERE sampling_members.valid = 0"
    };
}

/// Adds to a building's sampled count (`$1` members, round `$2`, building
/// `$3`): both writers for the members they bind, a lab result (negative `$1`)
/// for those an invalid tube sends back to the missed list.
const COUNT_SAMPLED: &str =
    "UPDATE sampling_round_buildings SET sampled = sampled + $1 WHERE round_id = $2 AND building_id = $3";

mod awaiting;
mod batch;
mod correct;
mod coverage;
mod decide;
mod history;
mod lab;
mod merge;
mod retest;
mod sqlite_thread;
mod tubes;
mod writer;

pub use awaiting::{AwaitingFilter, AwaitingTube, LabCounts, Positive};
pub use correct::{Affected, CorrectError, Correction};
pub use coverage::{
    BuildingCoverage, BuildingDetail, CompoundCoverage, Coverage, HouseholdCoverage, Missed, MissedFilter, UnitCoverage,
};
pub use decide::{ScanOutcome, TubeFill, OTHER_SCAN_STATUSES};
pub use history::SampledIn;
pub use lab::OverdueTube;
pub(crate) use merge::MERGE;

/// A resident (`$2`) of a round's scope (`$1`): one row, or none.
const IN_SCOPE: &str = "SELECT r.id FROM residents r JOIN sampling_round_buildings rb \
     ON rb.building_id = r.building_id AND rb.round_id = $1 WHERE r.id = $2";

/// The rule that a round's name is unique among the rounds sharing one of its
/// compounds, reported as a [`StoreError::Conflict`] on this name (no index
/// can hold it: a round spans compounds).
pub const ROUND_NAME_KEY: &str = "sampling_rounds_name_compound_key";

/// The key of the lock that round creations take in turn (see [`take_turns`]).
const ROUND_NAMES_LOCK: i64 = 0x726f_756e_6473;

/// Another round (than `$1`) named `$2` with a building in a compound of round `$1`'s scope.
const NAME_TAKEN: &str = "SELECT other.round_id FROM sampling_round_buildings mine \
     JOIN buildings mb ON mb.id = mine.building_id \
     JOIN buildings ob ON ob.compound_id = mb.compound_id \
     JOIN sampling_round_buildings other ON other.building_id = ob.id AND other.round_id <> mine.round_id \
     JOIN sampling_rounds r ON r.id = other.round_id \
     WHERE mine.round_id = $1 AND r.name = $2 LIMIT 1";

/// What noting a missed person's reason did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissNote {
    /// Noted.
    Noted,
    /// The resident is not in the round's scope.
    OutOfScope,
    /// The resident is bound to a valid tube of the round.
    AlreadySampled,
    /// The reason is set by lab results only (`tube_invalid`).
    Reserved,
}
pub use writer::{ScanWriter, SubmitError, Submitter};

/// A new round.
#[derive(Debug, Clone)]
pub struct NewRound {
    /// Its name.
    pub name: String,
    /// Default people per tube.
    pub pool_size: u32,
    /// `door_to_door` or `fixed_point`.
    pub mode: String,
    /// When it must be done (unix ms).
    pub deadline: Option<i64>,
    /// The buildings in scope.
    pub buildings: Vec<i64>,
    /// The team assigned to each building that has one.
    pub teams: Vec<TeamAssignment>,
}

/// A team assigned to a building of a round (the missed list is handed out per team).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TeamAssignment {
    /// The building.
    pub building: i64,
    /// The team's name (`None` clears the assignment).
    pub team: Option<String>,
}

/// A round.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SamplingRound {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Default people per tube.
    pub pool_size: i64,
    /// `door_to_door` or `fixed_point`.
    pub mode: String,
    /// Deadline (unix ms).
    pub deadline: Option<i64>,
    /// `open` or `closed`.
    pub status: String,
    /// The buildings in scope.
    pub buildings: Vec<i64>,
    /// The teams assigned to buildings (buildings without a team are left out).
    pub teams: Vec<TeamAssignment>,
}

/// A round's tubes by where they are.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct TubeCounts {
    /// Still filling.
    pub open: i64,
    /// Sealed, without a result yet.
    pub sealed: i64,
    /// With a lab result.
    pub received: i64,
}

/// A tube as the store knows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TubeView {
    /// Its barcode.
    pub code: String,
    /// Its round.
    pub round: i64,
    /// How many people it takes (1 for a single tube).
    pub pool_size: i64,
    /// People bound to it.
    pub members: i64,
    /// Whether it is sealed.
    pub sealed: bool,
    /// Who opened it.
    pub sampler: String,
    /// The account that opened it (it may seal it early), when known.
    pub opened_by: Option<i64>,
    /// Its lab result, once recorded.
    pub result: Option<String>,
}

/// One scan as a phone sends it.
#[derive(Debug, Clone)]
pub struct Scan {
    /// The client's idempotency key.
    pub key: String,
    /// The round.
    pub round: i64,
    /// The tube's code, as scanned.
    pub tube: String,
    /// The resident the code decodes to (`None` when the code was malformed or unknown: `refusal` says why).
    pub resident: Option<i64>,
    /// A refusal found before the store (a malformed code).
    pub refusal: Option<&'static str>,
    /// When it was scanned (unix ms).
    pub at: i64,
}

impl Store {
    /// Creates a round over buildings.
    pub async fn create_sampling_round(&self, actor: &Actor, new: &NewRound) -> Result<SamplingRound, StoreError> {
        let mut tx = self.pool.begin().await?;
        take_turns(&mut tx, self.backend(), ROUND_NAMES_LOCK).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sampling_rounds (name, pool_size, mode, deadline, status, created_by, created_at) \
             VALUES ($1, $2, $3, $4, 'open', $5, $6) RETURNING id",
        )
        .bind(&new.name)
        .bind(i64::from(new.pool_size))
        .bind(&new.mode)
        .bind(new.deadline)
        .bind(&actor.name)
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await?;
        for b in &new.buildings {
            sqlx::query(
                "INSERT INTO sampling_round_buildings (round_id, building_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(*b)
            .execute(&mut *tx)
            .await?;
        }
        // The scope is written first: the name is then compared with every
        // round sharing a compound with it, under the same lock.
        let taken: Option<i64> =
            sqlx::query_scalar(NAME_TAKEN).bind(id).bind(&new.name).fetch_optional(&mut *tx).await?;
        if taken.is_some() {
            return Err(StoreError::Conflict { constraint: ROUND_NAME_KEY.into() });
        }
        set_teams(&mut tx, id, &new.teams).await?;
        let round = fetch_round(&mut tx, id).await?;
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "sampling.round.create",
                entity: "sampling_round",
                entity_id: Some(id.to_string()),
                before: None,
                after: Some(json!(round)),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(round)
    }

    /// Every round, newest first (the latest 200): two queries, the rounds and then
    /// the scopes of all of them, whatever their number.
    pub async fn list_sampling_rounds(&self) -> Result<Vec<SamplingRound>, StoreError> {
        let rows = sqlx::query(&format!("{ROUND_SELECT} ORDER BY id DESC LIMIT 200")).fetch_all(self.pool()).await?;
        let (Some(newest), Some(oldest)) = (rows.first(), rows.last()) else {
            return Ok(Vec::new());
        };
        let (newest, oldest): (i64, i64) = (newest.try_get("id")?, oldest.try_get("id")?);
        // Ids between the oldest and the newest listed are exactly the rounds listed:
        // one range of the scope's primary key.
        let scope: Vec<(i64, i64, Option<String>)> = sqlx::query_as(
            "SELECT round_id, building_id, team FROM sampling_round_buildings \
             WHERE round_id >= $1 AND round_id <= $2 ORDER BY round_id, building_id",
        )
        .bind(oldest)
        .bind(newest)
        .fetch_all(self.pool())
        .await?;
        let mut by_round: HashMap<i64, Vec<(i64, Option<String>)>> = HashMap::new();
        for (round, building, team) in scope {
            by_round.entry(round).or_default().push((building, team));
        }
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get("id")?;
                round_from(row, by_round.remove(&id).unwrap_or_default())
            })
            .collect()
    }

    /// The residents of a building already bound to a valid tube in a round, with their tube codes.
    pub async fn sampled_in_building(&self, round: i64, building: i64) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT r.id, t.code FROM residents r \
             JOIN sampling_members m ON m.round_id = $1 AND m.resident_id = r.id AND m.valid = 1 \
             JOIN sampling_tubes t ON t.id = m.tube_id WHERE r.building_id = $2",
        )
        .bind(round)
        .bind(building)
        .fetch_all(self.pool())
        .await?)
    }

    /// Assigns teams to buildings of a round (audited with the assignments before and after).
    pub async fn assign_sampling_teams(
        &self,
        actor: &Actor,
        round: i64,
        teams: &[TeamAssignment],
    ) -> Result<SamplingRound, StoreError> {
        let mut tx = self.pool.begin().await?;
        let before = fetch_round(&mut tx, round).await?;
        set_teams(&mut tx, round, teams).await?;
        let after = fetch_round(&mut tx, round).await?;
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "sampling.round.teams",
                entity: "sampling_round",
                entity_id: Some(round.to_string()),
                before: Some(json!(before.teams)),
                after: Some(json!(after.teams)),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// A round's tubes by where they are: open (still filling), sealed (on
    /// their way to the lab or awaiting a result) and received (with a result).
    pub async fn tube_counts(&self, round: i64) -> Result<TubeCounts, StoreError> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(CASE WHEN result IS NULL AND sealed = 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS open, \
             CAST(COALESCE(SUM(CASE WHEN result IS NULL AND sealed <> 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS sealed, \
             CAST(COALESCE(SUM(CASE WHEN result IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS received \
             FROM sampling_tubes WHERE round_id = $1",
        )
        .bind(round)
        .fetch_one(self.pool())
        .await?;
        Ok(TubeCounts {
            open: row.try_get("open")?,
            sealed: row.try_get("sealed")?,
            received: row.try_get("received")?,
        })
    }

    /// Closes a round: later scans are refused with `round_closed`.
    pub async fn close_sampling_round(&self, actor: &Actor, id: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query("UPDATE sampling_rounds SET status = 'closed' WHERE id = $1 AND status = 'open'")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            // Closing a closed round is done already (a second tap, a retried request).
            let exists =
                sqlx::query("SELECT id FROM sampling_rounds WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
            return exists.map(|_| ()).ok_or(StoreError::NotFound);
        }
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "sampling.round.close",
                entity: "sampling_round",
                entity_id: Some(id.to_string()),
                before: None,
                after: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One round.
    pub async fn get_sampling_round(&self, id: i64) -> Result<SamplingRound, StoreError> {
        fetch_round(&mut *self.pool.acquire().await?, id).await
    }

    /// Whether a resident lives in one of a round's buildings.
    pub async fn in_round_scope(&self, round: i64, resident: i64) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar::<_, i64>(IN_SCOPE)
            .bind(round)
            .bind(resident)
            .fetch_optional(self.pool())
            .await?
            .is_some())
    }

    /// Notes why a resident of a round was not sampled yet (the sweep's
    /// finding: bedridden, refused, nobody home…). They stay on the missed
    /// list with the reason; an exemption they had is lifted (they are expected
    /// again). Refused for someone outside the round or already sampled.
    pub async fn note_missed(
        &self,
        actor: &Actor,
        round: i64,
        resident: i64,
        reason: MissReason,
    ) -> Result<MissNote, StoreError> {
        if reason == MissReason::TubeInvalid {
            // Only a lab result says a tube was invalid.
            return Ok(MissNote::Reserved);
        }
        let mut tx = self.pool.begin().await?;
        let in_scope = sqlx::query(IN_SCOPE).bind(round).bind(resident).fetch_optional(&mut *tx).await?;
        if in_scope.is_none() {
            return Ok(MissNote::OutOfScope);
        }
        let sampled =
            sqlx::query("SELECT tube_id FROM sampling_members WHERE round_id = $1 AND resident_id = $2 AND valid = 1")
                .bind(round)
                .bind(resident)
                .fetch_optional(&mut *tx)
                .await?;
        if sampled.is_some() {
            return Ok(MissNote::AlreadySampled);
        }
        sqlx::query("DELETE FROM sampling_exemptions WHERE round_id = $1 AND resident_id = $2")
            .bind(round)
            .bind(resident)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sampling_missed_reasons (round_id, resident_id, reason, noted_by, noted_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (round_id, resident_id) DO UPDATE SET reason = excluded.reason, noted_by = excluded.noted_by, \
             noted_at = excluded.noted_at",
        )
        .bind(round)
        .bind(resident)
        .bind(reason.code())
        .bind(&actor.name)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "sampling.missed",
                entity: "resident",
                entity_id: Some(resident.to_string()),
                before: None,
                after: Some(json!({"round": round, "reason": reason.code()})),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(MissNote::Noted)
    }

    /// Exempts a resident from a round with a reason (away, hospitalised, transferred, infant, other).
    pub async fn exempt_from_round(
        &self,
        actor: &Actor,
        round: i64,
        resident: i64,
        reason: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO sampling_exemptions (round_id, resident_id, reason, decided_by, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (round_id, resident_id) DO UPDATE SET reason = excluded.reason, decided_by = excluded.decided_by",
        )
        .bind(round)
        .bind(resident)
        .bind(reason)
        .bind(&actor.name)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "sampling.exempt",
                entity: "resident",
                entity_id: Some(resident.to_string()),
                before: None,
                after: Some(json!({"round": round, "reason": reason})),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One tube by its barcode.
    pub async fn get_tube(&self, code: &str) -> Result<TubeView, StoreError> {
        let row: (String, i64, i64, i64, String, Option<i64>, Option<String>, i64) = sqlx::query_as(
            "SELECT code, round_id, members, sealed, sampler, opened_by, result, pool_size FROM sampling_tubes WHERE code = $1",
        )
        .bind(code)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(TubeView {
            code: row.0,
            round: row.1,
            pool_size: row.7,
            members: row.2,
            sealed: row.3 != 0,
            sampler: row.4,
            opened_by: row.5,
            result: row.6,
        })
    }

    /// Which of `ids` exist, for decoding sampling codes.
    pub async fn existing_residents(&self, ids: &[i64]) -> Result<Vec<i64>, StoreError> {
        let rows =
            rows_by_ids(self.pool(), self.backend(), "SELECT id FROM residents WHERE id IN ({ids})", ids).await?;
        Ok(rows.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?)
    }
}

/// A round's own columns (without its scope).
const ROUND_SELECT: &str = "SELECT id, name, pool_size, mode, deadline, status FROM sampling_rounds";

async fn fetch_round(conn: &mut AnyConnection, id: i64) -> Result<SamplingRound, StoreError> {
    let row = sqlx::query(&format!("{ROUND_SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    let scope: Vec<(i64, Option<String>)> = sqlx::query_as(
        "SELECT building_id, team FROM sampling_round_buildings WHERE round_id = $1 ORDER BY building_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    round_from(&row, scope)
}

/// A round from its row ([`ROUND_SELECT`]) and its scope: (building, team), by building.
fn round_from(row: &AnyRow, scope: Vec<(i64, Option<String>)>) -> Result<SamplingRound, StoreError> {
    let buildings = scope.iter().map(|(b, _)| *b).collect();
    let teams = scope
        .into_iter()
        .filter(|(_, t)| t.is_some())
        .map(|(building, team)| TeamAssignment { building, team })
        .collect();
    Ok(SamplingRound {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        pool_size: row.try_get("pool_size")?,
        mode: row.try_get("mode")?,
        deadline: row.try_get("deadline")?,
        status: row.try_get("status")?,
        buildings,
        teams,
    })
}

/// Sets (or clears) the team of buildings in a round's scope; a building outside the scope is `NotFound`.
async fn set_teams(conn: &mut AnyConnection, round: i64, teams: &[TeamAssignment]) -> Result<(), StoreError> {
    for t in teams {
        let n = sqlx::query("UPDATE sampling_round_buildings SET team = $1 WHERE round_id = $2 AND building_id = $3")
            .bind(t.team.as_deref())
            .bind(round)
            .bind(t.building)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
    }
    Ok(())
}
