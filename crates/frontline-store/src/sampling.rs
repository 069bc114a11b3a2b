//! Sampling rounds (核酸采样): rounds over buildings, scans binding residents to
//! pooled tubes (idempotent by the client's key), coverage, the missed list
//! (补采名单), and lab results that open retests or send people back to the list.

use frontline_domain::sampling::{LabResult, TubeCode};
use serde::Serialize;
use serde_json::json;
use sqlx::{AnyConnection, Row};

use crate::audit::{self, Actor, Change};
use crate::db::{param_list, Store};
use crate::error::StoreError;
use crate::now_ms;

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

/// Coverage of a round for one building.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BuildingCoverage {
    /// The building.
    pub building: i64,
    /// Its name.
    pub name: String,
    /// Residents who should be tested.
    pub expected: i64,
    /// Residents bound to a valid tube.
    pub sampled: i64,
}

/// Coverage of a round.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Coverage {
    /// Residents who should be tested.
    pub expected: i64,
    /// Residents bound to a valid tube.
    pub sampled: i64,
    /// Expected but not sampled.
    pub missed: i64,
    /// Per building.
    pub buildings: Vec<BuildingCoverage>,
}

/// A resident still to be sampled.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Missed {
    /// The resident.
    pub resident_id: i64,
    /// The name.
    pub name: String,
    /// The building's name.
    pub building: String,
    /// The unit's name.
    pub unit: String,
    /// The room.
    pub room: String,
}

impl Store {
    /// Creates a round over buildings.
    pub async fn create_sampling_round(&self, actor: &Actor, new: &NewRound) -> Result<SamplingRound, StoreError> {
        let mut tx = self.pool.begin().await?;
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

    /// Every round, newest first.
    pub async fn list_sampling_rounds(&self) -> Result<Vec<SamplingRound>, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM sampling_rounds ORDER BY id DESC LIMIT 200")
            .fetch_all(self.pool())
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        let mut conn = self.pool.acquire().await?;
        for id in ids {
            out.push(fetch_round(&mut conn, id).await?);
        }
        Ok(out)
    }

    /// The residents of a building already bound to a valid tube in a round, with their tube codes.
    pub async fn sampled_in_building(&self, round: i64, building: i64) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT m.resident_id, t.code FROM sampling_members m JOIN sampling_tubes t ON t.id = m.tube_id \
             WHERE m.round_id = $1 AND m.building_id = $2 AND m.valid = 1",
        )
        .bind(round)
        .bind(building)
        .fetch_all(self.pool())
        .await?)
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
            return Err(StoreError::NotFound);
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

    /// Records a batch of scans in one transaction; returns each scan's status
    /// (`accepted`, `duplicate`, or a refusal code), in order. Lookups are a
    /// fixed number of `IN (…)` queries and the writes multi-row statements,
    /// whatever the batch's size, so the scan writer can group-commit.
    pub async fn record_scans(&self, actor: &Actor, scans: &[Scan]) -> Result<Vec<String>, StoreError> {
        let mut tx = self.pool.begin().await?;
        crate::db::take_write_lock(&mut tx, self.backend()).await?;
        let out = crate::scan_batch::record(&mut tx, self.backend(), actor, scans, now_ms()).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Coverage of a round: should-test against sampled, per building.
    pub async fn sampling_coverage(&self, round: i64) -> Result<Coverage, StoreError> {
        self.get_sampling_round(round).await?;
        let rows = sqlx::query(
            "SELECT rb.building_id, b.name, \
               (SELECT COUNT(*) FROM residents r WHERE r.building_id = rb.building_id) \
               - (SELECT COUNT(*) FROM sampling_exemptions e JOIN residents r ON r.id = e.resident_id \
                  WHERE e.round_id = rb.round_id AND r.building_id = rb.building_id) AS expected, \
               (SELECT COUNT(*) FROM sampling_members m \
                  WHERE m.round_id = rb.round_id AND m.building_id = rb.building_id AND m.valid = 1) AS sampled \
             FROM sampling_round_buildings rb JOIN buildings b ON b.id = rb.building_id \
             WHERE rb.round_id = $1 ORDER BY rb.building_id",
        )
        .bind(round)
        .fetch_all(self.pool())
        .await?;
        let mut buildings = Vec::with_capacity(rows.len());
        for r in rows {
            buildings.push(BuildingCoverage {
                building: r.try_get("building_id")?,
                name: r.try_get("name")?,
                expected: r.try_get("expected")?,
                sampled: r.try_get("sampled")?,
            });
        }
        let expected = buildings.iter().map(|b| b.expected).sum();
        let sampled = buildings.iter().map(|b| b.sampled).sum();
        Ok(Coverage { expected, sampled, missed: (expected - sampled).max(0), buildings })
    }

    /// One building's coverage in a round (the sampler's and the building leader's view).
    pub async fn building_coverage(&self, round: i64, building: i64) -> Result<BuildingCoverage, StoreError> {
        let row = sqlx::query(
            "SELECT b.id, b.name, \
               (SELECT COUNT(*) FROM residents r WHERE r.building_id = b.id) \
               - (SELECT COUNT(*) FROM sampling_exemptions e JOIN residents r ON r.id = e.resident_id \
                  WHERE e.round_id = $1 AND r.building_id = b.id) AS expected, \
               (SELECT COUNT(*) FROM sampling_members m WHERE m.round_id = $1 AND m.building_id = b.id AND m.valid = 1) AS sampled \
             FROM buildings b JOIN sampling_round_buildings rb ON rb.building_id = b.id AND rb.round_id = $1 WHERE b.id = $2",
        )
        .bind(round)
        .bind(building)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(BuildingCoverage {
            building: row.try_get("id")?,
            name: row.try_get("name")?,
            expected: row.try_get("expected")?,
            sampled: row.try_get("sampled")?,
        })
    }

    /// The missed list (补采名单): residents in scope not bound to a valid tube, by address.
    pub async fn sampling_missed(&self, round: i64) -> Result<Vec<Missed>, StoreError> {
        self.get_sampling_round(round).await?;
        let rows = sqlx::query(
            "SELECT r.id, r.name, b.name AS building, u.name AS unit, h.room FROM residents r \
             JOIN sampling_round_buildings rb ON rb.building_id = r.building_id AND rb.round_id = $1 \
             JOIN households h ON h.id = r.household_id JOIN units u ON u.id = h.unit_id JOIN buildings b ON b.id = h.building_id \
             WHERE NOT EXISTS (SELECT 1 FROM sampling_members m WHERE m.round_id = $1 AND m.resident_id = r.id AND m.valid = 1) \
               AND NOT EXISTS (SELECT 1 FROM sampling_exemptions e WHERE e.round_id = $1 AND e.resident_id = r.id) \
             ORDER BY b.id, u.number, h.floor, h.room, r.id",
        )
        .bind(round)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Missed {
                    resident_id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    building: r.try_get("building")?,
                    unit: r.try_get("unit")?,
                    room: r.try_get("room")?,
                })
            })
            .collect()
    }

    /// Records lab results per tube; returns each tube's status (`recorded`, `unknown_tube`, `already_recorded`).
    /// An abnormal tube opens a single retest at home for each member; an invalid one
    /// puts its members back on the missed list.
    pub async fn record_lab_results(
        &self,
        actor: &Actor,
        results: &[(TubeCode, LabResult)],
        retest_hours: u32,
    ) -> Result<Vec<&'static str>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let now = now_ms();
        let mut out = Vec::with_capacity(results.len());
        for (code, result) in results {
            let tube: Option<(i64, i64, Option<String>)> =
                sqlx::query_as("SELECT id, round_id, result FROM sampling_tubes WHERE code = $1")
                    .bind(code.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some((tube_id, round_id, prior)) = tube else {
                out.push("unknown_tube");
                continue;
            };
            if prior.is_some() {
                out.push("already_recorded");
                continue;
            }
            sqlx::query("UPDATE sampling_tubes SET result = $1, result_at = $2, sealed = 1, sealed_at = COALESCE(sealed_at, $2) WHERE id = $3")
                .bind(result.code())
                .bind(now)
                .bind(tube_id)
                .execute(&mut *tx)
                .await?;
            match result {
                LabResult::Abnormal => {
                    sqlx::query(
                        "INSERT INTO sampling_retests (round_id, resident_id, tube_id, state, due_at, created_at) \
                         SELECT $1, resident_id, $2, 'pending', $3, $4 FROM sampling_members WHERE tube_id = $2 \
                         ON CONFLICT (round_id, resident_id) DO NOTHING",
                    )
                    .bind(round_id)
                    .bind(tube_id)
                    .bind(now + i64::from(retest_hours) * 3_600_000)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                LabResult::Invalid => {
                    sqlx::query("UPDATE sampling_members SET valid = 0 WHERE tube_id = $1")
                        .bind(tube_id)
                        .execute(&mut *tx)
                        .await?;
                }
                LabResult::Negative => {}
            }
            audit::record(
                &mut tx,
                actor,
                Change {
                    action: "sampling.result",
                    entity: "sampling_tube",
                    entity_id: Some(tube_id.to_string()),
                    before: None,
                    after: Some(json!({"tube": code.as_str(), "result": result.code()})),
                },
            )
            .await?;
            out.push("recorded");
        }
        tx.commit().await?;
        Ok(out)
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

    /// Counts for pool-size advice: (abnormal tubes, tubes with a result, people in them).
    pub async fn tube_statistics(&self, round: i64) -> Result<(i64, i64, i64), StoreError> {
        let row: (Option<i64>, i64, i64) = sqlx::query_as(
            "SELECT SUM(CASE WHEN result = 'abnormal' THEN 1 ELSE 0 END), COUNT(*), CAST(COALESCE(SUM(members), 0) AS BIGINT) \
             FROM sampling_tubes WHERE round_id = $1 AND result IS NOT NULL AND result <> 'invalid'",
        )
        .bind(round)
        .fetch_one(self.pool())
        .await?;
        Ok((row.0.unwrap_or(0), row.1, row.2))
    }

    /// Records a single retest's result for a resident of a round: `negative` releases them,
    /// `positive` confirms a case, `invalid` keeps the retest pending. Returns the new state.
    pub async fn record_retest(
        &self,
        actor: &Actor,
        round: i64,
        resident: i64,
        result: &str,
    ) -> Result<&'static str, StoreError> {
        let state = match result {
            "negative" => "cleared",
            "positive" => "confirmed",
            _ => "pending",
        };
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query(
            "UPDATE sampling_retests SET state = $1 WHERE round_id = $2 AND resident_id = $3 AND state = 'pending'",
        )
        .bind(state)
        .bind(round)
        .bind(resident)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "sampling.retest",
                entity: "resident",
                entity_id: Some(resident.to_string()),
                before: None,
                after: Some(json!({"round": round, "result": result, "state": state})),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(state)
    }

    /// Pending retests of a round: (resident id, tube code, due at).
    pub async fn pending_retests(&self, round: i64) -> Result<Vec<(i64, String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT r.resident_id, t.code, r.due_at FROM sampling_retests r JOIN sampling_tubes t ON t.id = r.tube_id \
             WHERE r.round_id = $1 AND r.state = 'pending' ORDER BY r.due_at, r.resident_id",
        )
        .bind(round)
        .fetch_all(self.pool())
        .await?)
    }

    /// Which of `ids` exist, for decoding sampling codes.
    pub async fn existing_residents(&self, ids: &[i64]) -> Result<Vec<i64>, StoreError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(1_000) {
            let sql = format!("SELECT id FROM residents WHERE id IN ({})", param_list(self.backend(), chunk.len()));
            let mut q = sqlx::query_scalar::<_, i64>(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            out.extend(q.fetch_all(self.pool()).await?);
        }
        Ok(out)
    }
}

async fn fetch_round(conn: &mut AnyConnection, id: i64) -> Result<SamplingRound, StoreError> {
    let row = sqlx::query("SELECT id, name, pool_size, mode, deadline, status FROM sampling_rounds WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    let buildings: Vec<i64> =
        sqlx::query_scalar("SELECT building_id FROM sampling_round_buildings WHERE round_id = $1 ORDER BY building_id")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    Ok(SamplingRound {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        pool_size: row.try_get("pool_size")?,
        mode: row.try_get("mode")?,
        deadline: row.try_get("deadline")?,
        status: row.try_get("status")?,
        buildings,
    })
}

/// One caller's scans waiting in the writer's queue.
struct Job {
    actor: Actor,
    scans: Vec<Scan>,
    reply: tokio::sync::oneshot::Sender<Result<Vec<String>, String>>,
}

/// The scan writer: one task owns the writes and group-commits what arrived
/// meanwhile — every waiting request's scans in one transaction — answering
/// each caller only after the commit. Its queue is bounded: when full,
/// [`ScanWriter::submit`] says so at once instead of queueing without limit.
#[derive(Clone, Debug)]
pub struct ScanWriter {
    queue: tokio::sync::mpsc::Sender<Job>,
}

/// Why scans were not written.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The queue is full: try again shortly.
    #[error("the scan queue is full")]
    Busy,
    /// The writer failed (the batch was rolled back).
    #[error("scan writer: {0}")]
    Failed(String),
}

/// The most scans one commit groups.
const GROUP_SCANS: usize = 5_000;

impl ScanWriter {
    /// Starts the writer task on the current runtime.
    pub fn spawn(store: Store, queue_jobs: usize) -> ScanWriter {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Job>(queue_jobs.max(1));
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut jobs = vec![first];
                let mut count = jobs[0].scans.len();
                while count < GROUP_SCANS {
                    match rx.try_recv() {
                        Ok(job) => {
                            count += job.scans.len();
                            jobs.push(job);
                        }
                        Err(_) => break,
                    }
                }
                let all: Vec<Scan> = jobs.iter().flat_map(|j| j.scans.iter().cloned()).collect();
                // Audit and authorship go with the first job's actor; every scan keeps its own key.
                let result = store.record_scans(&jobs[0].actor, &all).await;
                match result {
                    Ok(statuses) => {
                        let mut statuses = statuses.into_iter();
                        for job in jobs {
                            let mine: Vec<String> = statuses.by_ref().take(job.scans.len()).collect();
                            let _ = job.reply.send(Ok(mine));
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, scans = all.len(), "scan group failed");
                        for job in jobs {
                            let _ = job.reply.send(Err(e.to_string()));
                        }
                    }
                }
            }
        });
        ScanWriter { queue: tx }
    }

    /// Queues scans and waits until they are committed; statuses in order.
    pub async fn submit(&self, actor: Actor, scans: Vec<Scan>) -> Result<Vec<String>, SubmitError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.queue.try_send(Job { actor, scans, reply }).map_err(|_| SubmitError::Busy)?;
        answer.await.map_err(|_| SubmitError::Failed("writer stopped".into()))?.map_err(SubmitError::Failed)
    }
}
