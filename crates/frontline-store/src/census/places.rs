//! Where census rows live: the compound, and its buildings, units and
//! households — preloaded once, the missing ones created in bulk.

use std::collections::{HashMap, HashSet};

use frontline_domain::census::{building_name, unit_name, CensusPerson};
use sqlx::AnyConnection;

use super::import::{Ctx, Slot};
use crate::bulk::{Batch, V};
use crate::db::{json_rows_sql, reserve_ids};
use crate::error::StoreError;

/// Loads the compound's buildings, units and households once, so rows resolve
/// their household from memory instead of one query each.
pub(super) async fn preload_places(conn: &mut AnyConnection, ctx: &mut Ctx) -> Result<(), StoreError> {
    let number = |n: Option<i64>, name: &str, parse: fn(&str) -> Option<u32>| {
        n.and_then(|n| u32::try_from(n).ok()).or_else(|| parse(name))
    };
    let buildings: Vec<(i64, Option<i64>, String)> =
        sqlx::query_as("SELECT id, number, name FROM buildings WHERE compound_id = $1")
            .bind(ctx.compound_id)
            .fetch_all(&mut *conn)
            .await?;
    let mut building_numbers: HashMap<i64, u32> = HashMap::new();
    for (id, n, name) in buildings {
        if let Some(b) = number(n, &name, frontline_domain::census::parse_building) {
            ctx.buildings.entry(b).or_insert(id);
            building_numbers.insert(id, b);
        }
    }
    let units: Vec<(i64, i64, Option<i64>, String)> = sqlx::query_as(
        "SELECT u.id, u.building_id, u.number, u.name FROM units u JOIN buildings b ON b.id = u.building_id WHERE b.compound_id = $1",
    )
    .bind(ctx.compound_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut unit_numbers: HashMap<i64, (u32, u32)> = HashMap::new();
    for (id, building, n, name) in units {
        if let (Some(b), Some(u)) =
            (building_numbers.get(&building), number(n, &name, frontline_domain::census::parse_unit))
        {
            ctx.units.entry((*b, u)).or_insert(id);
            unit_numbers.insert(id, (*b, u));
        }
    }
    // Hundreds of thousands of households: one JSON row, not one row each (each row
    // crossing from the database thread costs more than reading it).
    let sql = json_rows_sql(
        ctx.backend,
        "h.id, h.unit_id, h.room",
        "FROM households h JOIN buildings b ON b.id = h.building_id WHERE b.compound_id = $1",
    );
    let json: String = sqlx::query_scalar(&sql).bind(ctx.compound_id).fetch_one(&mut *conn).await?;
    let households: Vec<(i64, i64, String)> =
        serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("households: {e}")))?;
    drop(json);
    for (id, unit, room) in households {
        if let Some((b, u)) = unit_numbers.get(&unit) {
            ctx.households.entry((*b, *u)).or_default().entry(room).or_insert(id);
        }
    }
    Ok(())
}

async fn building_id(conn: &mut AnyConnection, ctx: &mut Ctx, b: u32) -> Result<i64, StoreError> {
    if let Some(id) = ctx.buildings.get(&b) {
        return Ok(*id);
    }
    let name = building_name(b);
    sqlx::query(
        "INSERT INTO buildings (compound_id, number, name, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (compound_id, name) DO NOTHING",
    )
    .bind(ctx.compound_id)
    .bind(i64::from(b))
    .bind(&name)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await?;
    let id: i64 = sqlx::query_scalar("SELECT id FROM buildings WHERE compound_id = $1 AND name = $2")
        .bind(ctx.compound_id)
        .bind(&name)
        .fetch_one(&mut *conn)
        .await?;
    ctx.buildings.insert(b, id);
    Ok(id)
}

async fn unit_id(conn: &mut AnyConnection, ctx: &mut Ctx, b: u32, u: u32) -> Result<i64, StoreError> {
    if let Some(id) = ctx.units.get(&(b, u)) {
        return Ok(*id);
    }
    let building = building_id(conn, ctx, b).await?;
    let name = unit_name(u);
    sqlx::query(
        "INSERT INTO units (building_id, number, name) VALUES ($1, $2, $3) ON CONFLICT (building_id, name) DO NOTHING",
    )
    .bind(building)
    .bind(i64::from(u))
    .bind(&name)
    .execute(&mut *conn)
    .await?;
    let id: i64 = sqlx::query_scalar("SELECT id FROM units WHERE building_id = $1 AND name = $2")
        .bind(building)
        .bind(&name)
        .fetch_one(&mut *conn)
        .await?;
    ctx.units.insert((b, u), id);
    Ok(id)
}

/// Resolves from memory the building and household of every slot whose places are
/// already known (all of them, in a round after the first); the rest are left to
/// [`resolve_households`].
pub(super) fn resolve_known(ctx: &Ctx, slots: &mut [Slot]) {
    for s in slots.iter_mut() {
        let Some(bid) = s.person.building.and_then(|b| ctx.buildings.get(&b)) else { continue };
        s.building = Some(*bid);
        s.household = known_household(ctx, &s.person);
    }
}

/// The household a person's building, unit and room name, when it is known.
fn known_household(ctx: &Ctx, person: &CensusPerson) -> Option<i64> {
    let room = person.room.as_ref()?;
    let unit = person.unit.unwrap_or(1);
    ctx.households.get(&(person.building?, unit))?.get(room.text.as_str()).copied()
}

/// Finds or creates the household of every slot that names a building and a room.
pub(super) async fn resolve_households(
    conn: &mut AnyConnection,
    ctx: &mut Ctx,
    slots: &mut [Slot],
) -> Result<(), StoreError> {
    // Households were preloaded; the ones still unknown are created in bulk.
    let mut missing: Vec<(u32, u32, String, Option<u32>)> = Vec::new();
    let mut listed: HashSet<(u32, u32, &str)> = HashSet::new();
    for s in slots.iter_mut().filter(|s| s.household.is_none()) {
        let Some(b) = s.person.building else { continue };
        let bid = building_id(conn, ctx, b).await?;
        s.building = Some(bid);
        let Some(room) = s.person.room.as_ref() else { continue };
        let u = s.person.unit.unwrap_or(1);
        if let Some(h) = known_household(ctx, &s.person) {
            s.household = Some(h);
            continue;
        }
        if listed.insert((b, u, room.text.as_str())) {
            missing.push((b, u, room.text.clone(), room.floor));
        }
    }
    drop(listed);
    if !missing.is_empty() {
        let ids = reserve_ids(conn, ctx.backend, "households", missing.len()).await?;
        let mut batch =
            Batch::new(ctx.backend, "INSERT INTO households (id, unit_id, building_id, floor, room, created_at)", 6);
        for ((b, u, room, floor), id) in missing.into_iter().zip(ids) {
            let uid = unit_id(conn, ctx, b, u).await?;
            let bid = building_id(conn, ctx, b).await?;
            batch.push([
                V::I(id),
                V::I(uid),
                V::I(bid),
                V::OptI(floor.map(i64::from)),
                V::S(room.clone()),
                V::I(ctx.now),
            ]);
            ctx.households.entry((b, u)).or_default().insert(room, id);
            ctx.summary.households_created += 1;
            if batch.full() {
                batch.flush(conn).await?;
            }
        }
        batch.flush(conn).await?;
        resolve_known(ctx, slots);
    }
    Ok(())
}
