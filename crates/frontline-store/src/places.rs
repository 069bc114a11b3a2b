//! Places: district → community → compound → building → unit → household,
//! and each building's zone level with its full history.

use frontline_domain::places::ZoneLevel;
use serde::Serialize;
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::audit::{self, Actor, Change};
use crate::db::{rows_by_ids, Store};
use crate::error::StoreError;
use crate::now_ms;
use crate::page::{self, Page};

/// A building with its counts and current zone level, for lists.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BuildingSummary {
    /// The building's id.
    pub id: i64,
    /// The compound's id.
    pub compound_id: i64,
    /// The compound's name.
    pub compound: String,
    /// The building's number, when its name has one.
    pub number: Option<i64>,
    /// The building's name (`3号楼`).
    pub name: String,
    /// How many floors it has, when known.
    pub floors: Option<i64>,
    /// How many households it holds.
    pub households: i64,
    /// How many residents live in it.
    pub residents: i64,
    /// The zone level in force now, if one was ever set.
    pub zone: Option<ZoneLevel>,
}

/// A building with its footprint, for the building page and the map.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Building {
    /// Counts and zone.
    #[serde(flatten)]
    pub summary: BuildingSummary,
    /// The footprint polygon as GeoJSON, when known.
    pub footprint: Option<serde_json::Value>,
}

/// A unit (单元) of a building.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Unit {
    /// The unit's id.
    pub id: i64,
    /// The building's id.
    pub building_id: i64,
    /// The unit's number, when its name has one.
    pub number: Option<i64>,
    /// The unit's name (`1单元`).
    pub name: String,
}

/// A household (户): a room on a floor of a unit.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Household {
    /// The household's id.
    pub id: i64,
    /// The unit's id.
    pub unit_id: i64,
    /// The unit's name.
    pub unit: String,
    /// The building's id.
    pub building_id: i64,
    /// The building's name.
    pub building: String,
    /// The compound's name.
    pub compound: String,
    /// The floor, when known.
    pub floor: Option<i64>,
    /// The room (`1302`).
    pub room: String,
    /// How many residents live there.
    pub residents: i64,
}

/// One decision on a building's zone level. Decisions are never overwritten:
/// the one in force is the latest whose `effective_from` has passed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ZoneDecision {
    /// The decision's id.
    pub id: i64,
    /// The building's id.
    pub building_id: i64,
    /// The level decided.
    pub level: ZoneLevel,
    /// From when it applies (unix ms).
    pub effective_from: i64,
    /// Why.
    pub reason: String,
    /// Who decided (account name).
    pub decided_by: String,
    /// When it was recorded (unix ms).
    pub created_at: i64,
}

const SUMMARY_SELECT: &str = "SELECT b.id, b.compound_id, c.name AS compound, b.number, b.name, b.floors, \
    (SELECT COUNT(*) FROM households h WHERE h.building_id = b.id) AS households, \
    (SELECT COUNT(*) FROM residents r WHERE r.building_id = b.id) AS residents, \
    (SELECT z.level FROM building_zones z WHERE z.building_id = b.id AND z.effective_from <= $1 \
       ORDER BY z.effective_from DESC, z.id DESC LIMIT 1) AS zone \
    FROM buildings b JOIN compounds c ON c.id = b.compound_id";

fn summary(row: &AnyRow) -> Result<BuildingSummary, sqlx::Error> {
    let zone: Option<String> = row.try_get("zone")?;
    Ok(BuildingSummary {
        id: row.try_get("id")?,
        compound_id: row.try_get("compound_id")?,
        compound: row.try_get("compound")?,
        number: row.try_get("number")?,
        name: row.try_get("name")?,
        floors: row.try_get("floors")?,
        households: row.try_get("households")?,
        residents: row.try_get("residents")?,
        zone: zone.as_deref().and_then(ZoneLevel::from_code),
    })
}

const HOUSEHOLD_SELECT: &str = "SELECT h.id, h.unit_id, u.name AS unit, h.building_id, b.name AS building, \
    c.name AS compound, h.floor, h.room, \
    (SELECT COUNT(*) FROM residents r WHERE r.household_id = h.id) AS residents \
    FROM households h JOIN units u ON u.id = h.unit_id JOIN buildings b ON b.id = h.building_id \
    JOIN compounds c ON c.id = b.compound_id";

fn household(row: &AnyRow) -> Result<Household, sqlx::Error> {
    Ok(Household {
        id: row.try_get("id")?,
        unit_id: row.try_get("unit_id")?,
        unit: row.try_get("unit")?,
        building_id: row.try_get("building_id")?,
        building: row.try_get("building")?,
        compound: row.try_get("compound")?,
        floor: row.try_get("floor")?,
        room: row.try_get("room")?,
        residents: row.try_get("residents")?,
    })
}

fn zone_decision(row: &AnyRow) -> Result<ZoneDecision, StoreError> {
    let level: String = row.try_get("level")?;
    Ok(ZoneDecision {
        id: row.try_get("id")?,
        building_id: row.try_get("building_id")?,
        level: ZoneLevel::from_code(&level).ok_or_else(|| StoreError::Corrupt(format!("zone level {level}")))?,
        effective_from: row.try_get("effective_from")?,
        reason: row.try_get("reason")?,
        decided_by: row.try_get("decided_name")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Inserts a row unless its unique key exists, then returns the id either way.
async fn get_or_insert<'q>(
    conn: &mut AnyConnection,
    insert: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    select: sqlx::query::QueryScalar<'q, sqlx::Any, i64, sqlx::any::AnyArguments<'q>>,
) -> Result<(i64, bool), StoreError> {
    let inserted = insert.execute(&mut *conn).await?.rows_affected() > 0;
    let id = select.fetch_one(&mut *conn).await?;
    Ok((id, inserted))
}

impl Store {
    /// Lists buildings by id, optionally of one compound.
    pub async fn list_buildings(
        &self,
        compound: Option<i64>,
        after: Option<i64>,
        limit: i64,
    ) -> Result<Page<BuildingSummary>, StoreError> {
        let sql = format!(
            "{SUMMARY_SELECT} WHERE ($2 IS NULL OR b.compound_id = $2) AND ($3 IS NULL OR b.id > $3) \
             ORDER BY b.id LIMIT $4"
        );
        let rows =
            sqlx::query(&sql).bind(now_ms()).bind(compound).bind(after).bind(limit + 1).fetch_all(&self.pool).await?;
        let items = rows.iter().map(summary).collect::<Result<Vec<_>, _>>()?;
        Ok(page::from_rows(items, limit, |b| b.id.to_string()))
    }

    /// One building with its footprint.
    pub async fn get_building(&self, id: i64) -> Result<Building, StoreError> {
        let sql = format!("{SUMMARY_SELECT} WHERE b.id = $2");
        let row =
            sqlx::query(&sql).bind(now_ms()).bind(id).fetch_optional(&self.pool).await?.ok_or(StoreError::NotFound)?;
        let footprint: Option<String> =
            sqlx::query_scalar("SELECT footprint FROM buildings WHERE id = $1").bind(id).fetch_one(&self.pool).await?;
        Ok(Building { summary: summary(&row)?, footprint: footprint.and_then(|f| serde_json::from_str(&f).ok()) })
    }

    /// The names of buildings by id, as [`Store::get_building`] has each: (id, name),
    /// in one query per 1,000 distinct ids (under both backends' bind-parameter
    /// limits); ordered by id, and an id that names no building is left out.
    pub async fn building_names(&self, ids: &[i64]) -> Result<Vec<(i64, String)>, StoreError> {
        let sql = "SELECT id, name FROM buildings WHERE id IN ({ids}) ORDER BY id";
        let rows = rows_by_ids(&self.pool, self.backend(), sql, ids).await?;
        Ok(rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("name")?))).collect::<Result<_, sqlx::Error>>()?)
    }

    /// The units of a building, in order.
    pub async fn list_units(&self, building: i64) -> Result<Vec<Unit>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, building_id, number, name FROM units WHERE building_id = $1 ORDER BY number, name, id",
        )
        .bind(building)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Unit {
                    id: r.try_get("id")?,
                    building_id: r.try_get("building_id")?,
                    number: r.try_get("number")?,
                    name: r.try_get("name")?,
                })
            })
            .collect()
    }

    /// Lists households by id, optionally of one building.
    pub async fn list_households(
        &self,
        building: Option<i64>,
        after: Option<i64>,
        limit: i64,
    ) -> Result<Page<Household>, StoreError> {
        let sql = format!(
            "{HOUSEHOLD_SELECT} WHERE ($1 IS NULL OR h.building_id = $1) AND ($2 IS NULL OR h.id > $2) \
             ORDER BY h.id LIMIT $3"
        );
        let rows = sqlx::query(&sql).bind(building).bind(after).bind(limit + 1).fetch_all(&self.pool).await?;
        let items = rows.iter().map(household).collect::<Result<Vec<_>, _>>()?;
        Ok(page::from_rows(items, limit, |h| h.id.to_string()))
    }

    /// Every household of a building, ordered by unit, floor and room (for the building page).
    pub async fn building_households(&self, building: i64) -> Result<Vec<Household>, StoreError> {
        let sql = format!("{HOUSEHOLD_SELECT} WHERE h.building_id = $1 ORDER BY u.number, u.name, h.floor, h.room");
        let rows = sqlx::query(&sql).bind(building).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(household).collect::<Result<Vec<_>, _>>()?)
    }

    /// One household.
    pub async fn get_household(&self, id: i64) -> Result<Household, StoreError> {
        let sql = format!("{HOUSEHOLD_SELECT} WHERE h.id = $1");
        let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await?.ok_or(StoreError::NotFound)?;
        Ok(household(&row)?)
    }

    /// Records a zone-level decision for a building. Earlier decisions stay.
    pub async fn set_zone(
        &self,
        actor: &Actor,
        building: i64,
        level: ZoneLevel,
        effective_from: i64,
        reason: &str,
    ) -> Result<ZoneDecision, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO building_zones (building_id, level, effective_from, reason, decided_by, decided_name, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             RETURNING id, building_id, level, effective_from, reason, decided_name, created_at",
        )
        .bind(building)
        .bind(level.code())
        .bind(effective_from)
        .bind(reason)
        .bind(actor.user_id)
        .bind(&actor.name)
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await?;
        let decision = zone_decision(&row)?;
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "building.zone",
                entity: "building",
                entity_id: Some(building.to_string()),
                before: None,
                after: Some(json!(decision)),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(decision)
    }

    /// Every zone decision for a building, newest first.
    pub async fn zone_history(&self, building: i64) -> Result<Vec<ZoneDecision>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, building_id, level, effective_from, reason, decided_name, created_at FROM building_zones \
             WHERE building_id = $1 ORDER BY effective_from DESC, id DESC",
        )
        .bind(building)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(zone_decision).collect()
    }

    /// Finds or creates a compound by name (under the first community, created when there is none).
    pub async fn ensure_compound(&self, actor: &Actor, name: &str) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let (id, created) = compound_in(&mut tx, name, now_ms()).await?;
        if created {
            audit_created(&mut tx, actor, "compound", id, json!({"name": name})).await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Finds or creates a building of a compound by name.
    pub async fn ensure_building(
        &self,
        actor: &Actor,
        compound: i64,
        name: &str,
        number: Option<i64>,
        floors: Option<i64>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let (id, created) = get_or_insert(
            &mut tx,
            sqlx::query(
                "INSERT INTO buildings (compound_id, number, name, floors, created_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (compound_id, name) DO NOTHING",
            )
            .bind(compound)
            .bind(number)
            .bind(name)
            .bind(floors)
            .bind(now_ms()),
            sqlx::query_scalar("SELECT id FROM buildings WHERE compound_id = $1 AND name = $2")
                .bind(compound)
                .bind(name),
        )
        .await?;
        if created {
            audit_created(&mut tx, actor, "building", id, json!({"compound_id": compound, "name": name})).await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Finds or creates a unit of a building by name.
    pub async fn ensure_unit(
        &self,
        actor: &Actor,
        building: i64,
        name: &str,
        number: Option<i64>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let (id, created) = get_or_insert(
            &mut tx,
            sqlx::query(
                "INSERT INTO units (building_id, number, name) VALUES ($1, $2, $3) ON CONFLICT (building_id, name) DO NOTHING",
            )
            .bind(building)
            .bind(number)
            .bind(name),
            sqlx::query_scalar("SELECT id FROM units WHERE building_id = $1 AND name = $2").bind(building).bind(name),
        )
        .await?;
        if created {
            audit_created(&mut tx, actor, "unit", id, json!({"building_id": building, "name": name})).await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Finds or creates a household of a unit by room.
    pub async fn ensure_household(
        &self,
        actor: &Actor,
        unit: i64,
        room: &str,
        floor: Option<i64>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let building: i64 = sqlx::query_scalar("SELECT building_id FROM units WHERE id = $1")
            .bind(unit)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::MissingReference)?;
        let (id, created) = get_or_insert(
            &mut tx,
            sqlx::query(
                "INSERT INTO households (unit_id, building_id, floor, room, created_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (unit_id, room) DO NOTHING",
            )
            .bind(unit)
            .bind(building)
            .bind(floor)
            .bind(room)
            .bind(now_ms()),
            sqlx::query_scalar("SELECT id FROM households WHERE unit_id = $1 AND room = $2").bind(unit).bind(room),
        )
        .await?;
        if created {
            audit_created(&mut tx, actor, "household", id, json!({"unit_id": unit, "room": room})).await?;
        }
        tx.commit().await?;
        Ok(id)
    }
}

/// Finds or creates a compound by name on `conn`, under the first community
/// (created with its district when there is none); says whether it was created.
pub(crate) async fn compound_in(conn: &mut AnyConnection, name: &str, now: i64) -> Result<(i64, bool), StoreError> {
    let community: Option<i64> =
        sqlx::query_scalar("SELECT id FROM communities ORDER BY id LIMIT 1").fetch_optional(&mut *conn).await?;
    let community = match community {
        Some(c) => c,
        None => {
            let district: i64 =
                sqlx::query_scalar("INSERT INTO districts (name, created_at) VALUES ($1, $2) RETURNING id")
                    .bind("本辖区")
                    .bind(now)
                    .fetch_one(&mut *conn)
                    .await?;
            sqlx::query_scalar(
                "INSERT INTO communities (district_id, name, created_at) VALUES ($1, $2, $3) RETURNING id",
            )
            .bind(district)
            .bind("本社区")
            .bind(now)
            .fetch_one(&mut *conn)
            .await?
        }
    };
    get_or_insert(
        conn,
        sqlx::query(
            "INSERT INTO compounds (community_id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (community_id, name) DO NOTHING",
        )
        .bind(community)
        .bind(name)
        .bind(now),
        sqlx::query_scalar("SELECT id FROM compounds WHERE community_id = $1 AND name = $2").bind(community).bind(name),
    )
    .await
}

async fn audit_created(
    conn: &mut AnyConnection,
    actor: &Actor,
    entity: &'static str,
    id: i64,
    after: serde_json::Value,
) -> Result<(), StoreError> {
    let action = match entity {
        "compound" => "compound.create",
        "building" => "building.create",
        "unit" => "unit.create",
        _ => "household.create",
    };
    audit::record(
        conn,
        actor,
        Change { action, entity, entity_id: Some(id.to_string()), before: None, after: Some(after) },
    )
    .await
}
