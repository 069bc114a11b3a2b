//! A round's scope: the whole compound, or only the buildings its sheet
//! covers. A sheet from one building leader says nothing about the other
//! buildings, so reconciliation compares only within the scope.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::db::Store;
use crate::error::StoreError;

/// What a round is compared against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every building of the compound: whoever has no row left.
    Compound,
    /// Only the buildings the sheet's rows name.
    Buildings,
}

impl Scope {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Scope::Compound => "compound",
            Scope::Buildings => "buildings",
        }
    }

    /// The scope of a code (`compound`, `buildings`).
    pub fn from_code(code: &str) -> Option<Scope> {
        match code {
            "compound" => Some(Scope::Compound),
            "buildings" => Some(Scope::Buildings),
            _ => None,
        }
    }
}

/// The buildings a round's rows name (its people's households).
pub(super) async fn sheet_buildings(conn: &mut AnyConnection, round: i64) -> Result<HashSet<i64>, StoreError> {
    let ids: Vec<(i64,)> = sqlx::query_as(
        "SELECT DISTINCT building_id FROM census_rows WHERE round_id = $1 AND building_id IS NOT NULL \
         AND outcome IN ('created', 'matched')",
    )
    .bind(round)
    .fetch_all(&mut *conn)
    .await?;
    Ok(ids.into_iter().map(|(b,)| b).collect())
}

/// What the import found of the sheet's extent, for the preview to confirm.
pub(super) struct Extent {
    pub(super) scope: Scope,
    /// The buildings the sheet covers, by name.
    pub(super) covered: Vec<String>,
    /// The compound's other buildings that hold residents.
    pub(super) outside: u64,
}

/// Settles a round's scope: the one asked for, or — when none was — the
/// buildings of the sheet when other buildings of the compound hold residents
/// (a partial sheet), else the compound. Records it with the round.
pub(super) async fn settle(
    conn: &mut AnyConnection,
    round: i64,
    compound: i64,
    asked: Option<Scope>,
) -> Result<Extent, StoreError> {
    let covered_ids = sheet_buildings(conn, round).await?;
    let buildings: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT b.id, b.name, CASE WHEN EXISTS (SELECT 1 FROM residents r WHERE r.building_id = b.id) THEN 1 ELSE 0 END \
         FROM buildings b WHERE b.compound_id = $1",
    )
    .bind(compound)
    .fetch_all(&mut *conn)
    .await?;
    let mut covered: Vec<String> =
        buildings.iter().filter(|b| covered_ids.contains(&b.0)).map(|b| b.1.clone()).collect();
    covered.sort_by_key(|n| super::reconcile::natural_key(n));
    let outside = buildings.iter().filter(|b| !covered_ids.contains(&b.0) && b.2 > 0).count() as u64;
    let scope = asked.unwrap_or(if outside > 0 { Scope::Buildings } else { Scope::Compound });
    sqlx::query("UPDATE census_rounds SET scope = $1 WHERE id = $2")
        .bind(scope.code())
        .bind(round)
        .execute(&mut *conn)
        .await?;
    Ok(Extent { scope, covered, outside })
}

impl Store {
    /// The buildings a round is compared within: `None` for the whole compound.
    pub async fn round_scope_buildings(&self, round: i64) -> Result<Option<HashSet<i64>>, StoreError> {
        let r = self.get_round(round).await?;
        if Scope::from_code(&r.scope) == Some(Scope::Buildings) {
            let mut conn = self.pool.acquire().await?;
            Ok(Some(sheet_buildings(&mut conn, round).await?))
        } else {
            Ok(None)
        }
    }
}
