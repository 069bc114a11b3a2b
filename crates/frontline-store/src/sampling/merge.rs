//! What merging two residents carries of sampling (see `crate::merge`).
//!
//! The rules, round by round:
//! - a member row (the person bound to a tube) and a retest move to the kept
//!   resident. When both residents have a member row in the same round, the
//!   merge is refused (`sampled_in_same_round`): two tubes, possibly two
//!   results, and nobody can tell which one is this person's until it is
//!   settled. A retest only exists for a member of an abnormal tube, so two
//!   retests in one round are refused the same way;
//! - an exemption and a missed reason move; when both residents have one for
//!   the same round, the kept resident's stays and the merged one's is dropped
//!   (undo puts it back). Beside a valid member of the round, either is
//!   already ignored by coverage and by the missed list;
//! - a member row carries the building it counts in: a moved member counts in
//!   the kept resident's building from then on, so each building's `sampled`
//!   counter moves with it and coverage keeps expected − sampled equal to the
//!   missed list. Undo moves the member, and its count, back.

use futures_util::future::BoxFuture;
use serde_json::{json, Value};
use sqlx::AnyConnection;

use crate::error::StoreError;
use crate::merge::{Adjust, Carried, Col, Mover, OnBoth, Pair, Rows};

/// Two results in one round: the merge is refused.
const SAMPLED_TWICE: OnBoth = OnBoth::Refuse { code: "sampled_in_same_round", named_by: "sampling_rounds" };

/// Sampling's tables pointing at residents, and the members' buildings.
pub(crate) const MERGE: Mover = Mover {
    capability: "sampling",
    tables: &[
        Carried {
            table: "sampling_members",
            column: "resident_id",
            rows: Rows::OnePer { per: "round_id", on_both: SAMPLED_TWICE },
        },
        Carried {
            table: "sampling_retests",
            column: "resident_id",
            rows: Rows::OnePer { per: "round_id", on_both: SAMPLED_TWICE },
        },
        Carried {
            table: "sampling_exemptions",
            column: "resident_id",
            rows: Rows::OnePer {
                per: "round_id",
                on_both: OnBoth::KeepKept {
                    columns: &[
                        Col::Int("round_id"),
                        Col::Text("reason"),
                        Col::Text("decided_by"),
                        Col::Int("created_at"),
                    ],
                },
            },
        },
        Carried {
            table: "sampling_missed_reasons",
            column: "resident_id",
            rows: Rows::OnePer {
                per: "round_id",
                on_both: OnBoth::KeepKept {
                    columns: &[Col::Int("round_id"), Col::Text("reason"), Col::Text("noted_by"), Col::Int("noted_at")],
                },
            },
        },
    ],
    adjust: Some(Adjust { merge: members_follow_kept, undo: members_go_back }),
};

/// Moves one valid member's count from building `from` to building `to` of a round
/// (a building outside the round's scope has no counter: nothing to change there).
async fn shift(conn: &mut AnyConnection, round: i64, from: Option<i64>, to: Option<i64>) -> Result<(), StoreError> {
    for (building, n) in [(from, -1_i64), (to, 1)] {
        if let Some(b) = building {
            sqlx::query(super::COUNT_SAMPLED).bind(n).bind(round).bind(b).execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// The merged resident's members in another building than the kept one's move
/// there, with their counts; returns `[round, building before]` of each.
fn members_follow_kept(conn: &mut AnyConnection, pair: Pair) -> BoxFuture<'_, Result<Value, StoreError>> {
    Box::pin(async move {
        let to: Option<i64> = sqlx::query_scalar("SELECT building_id FROM residents WHERE id = $1")
            .bind(pair.kept)
            .fetch_one(&mut *conn)
            .await?;
        let members: Vec<(i64, Option<i64>, i64)> = sqlx::query_as(
            "SELECT round_id, building_id, valid FROM sampling_members WHERE resident_id = $1 ORDER BY round_id",
        )
        .bind(pair.merged)
        .fetch_all(&mut *conn)
        .await?;
        let mut moved = Vec::new();
        for (round, from, valid) in members.into_iter().filter(|(_, from, _)| *from != to) {
            sqlx::query("UPDATE sampling_members SET building_id = $1 WHERE round_id = $2 AND resident_id = $3")
                .bind(to)
                .bind(round)
                .bind(pair.merged)
                .execute(&mut *conn)
                .await?;
            if valid == 1 {
                shift(conn, round, from, to).await?;
            }
            moved.push(json!([round, from]));
        }
        Ok(Value::Array(moved))
    })
}

/// Members moved by [`members_follow_kept`] (back with the merged resident by
/// now) return to the building they were in, with their counts, whatever
/// happened to them meanwhile (a voided tube counts nowhere).
fn members_go_back(conn: &mut AnyConnection, pair: Pair, moved: Value) -> BoxFuture<'_, Result<(), StoreError>> {
    Box::pin(async move {
        let moved: Vec<(i64, Option<i64>)> =
            serde_json::from_value(moved).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        for (round, back) in moved {
            let now: Option<(Option<i64>, i64)> = sqlx::query_as(
                "SELECT building_id, valid FROM sampling_members WHERE round_id = $1 AND resident_id = $2",
            )
            .bind(round)
            .bind(pair.merged)
            .fetch_optional(&mut *conn)
            .await?;
            let Some((building, valid)) = now else { continue };
            if building == back {
                continue;
            }
            sqlx::query("UPDATE sampling_members SET building_id = $1 WHERE round_id = $2 AND resident_id = $3")
                .bind(back)
                .bind(round)
                .bind(pair.merged)
                .execute(&mut *conn)
                .await?;
            if valid == 1 {
                shift(conn, round, building, back).await?;
            }
        }
        Ok(())
    })
}
