//! Reconciling a round with the rounds before it (same compound): who is still
//! present, gone, new, moved household, or changed phone — per building, within
//! the round's scope. A refused row whose ID number lost its last digits in a
//! number cell is not a person who left: tied by name and the surviving digits
//! to exactly one resident, that resident is "to check"; tied to several, they
//! are all "unresolved". Only people with no row at all are gone.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sqlx::Row;

use sqlx::AnyConnection;

use super::leavers::{leavers_of, plan, Plan, Presence};
use super::Round;
use crate::db::Store;
use crate::error::StoreError;

/// Counts for one building (or the whole compound).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ReconcileCounts {
    /// The building's id (`None` for totals, or people without a building).
    pub building_id: Option<i64>,
    /// The building's name.
    pub building: String,
    /// In both rounds.
    pub still_present: u64,
    /// In the previous round only, with no row at all in this one (within its scope).
    pub gone: u64,
    /// In this round only.
    pub new: u64,
    /// In both, in another household.
    pub moved: u64,
    /// In both, with another phone number.
    pub phone_changed: u64,
    /// Without a valid row, but tied to exactly one refused row: present, ID number to check.
    pub to_check: u64,
    /// Without a valid row, and one of several people a refused row may stand for.
    pub unresolved: u64,
}

/// One person who is gone, new, moved, changed phone, to check or unresolved.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReconcilePerson {
    /// `gone`, `new`, `moved`, `phone_changed`, `to_check` or `unresolved`.
    pub change: &'static str,
    /// The resident.
    pub resident_id: i64,
    /// The name.
    pub name: String,
    /// The building they are counted under.
    pub building: String,
    /// The household before (`3号楼 1单元 1302`), for moves and the gone.
    pub before: Option<String>,
    /// The household now, for moves and the new.
    pub after: Option<String>,
    /// The phone before, for phone changes.
    pub old_phone: Option<String>,
    /// The phone now, for phone changes.
    pub new_phone: Option<String>,
    /// The refused row (its number in the file) standing for them, for those to check or unresolved.
    pub row_number: Option<i64>,
    /// For the gone of a confirmed round: why they left (`moved_out`, …), or
    /// `restored` once brought back.
    pub state: Option<String>,
}

/// A round compared with the ones before.
#[derive(Debug, Clone, Serialize)]
pub struct Reconciliation {
    /// This round.
    pub round: Round,
    /// The round before, if any (the first round has everyone new).
    pub previous: Option<Round>,
    /// Totals over the scope.
    pub totals: ReconcileCounts,
    /// Per building, by name.
    pub buildings: Vec<ReconcileCounts>,
    /// Everyone who is not simply still present.
    pub people: Vec<ReconcilePerson>,
    /// `compound` or `buildings`.
    pub scope: String,
    /// The buildings compared, by name (every building of the compound for a `compound` scope).
    pub scope_buildings: Vec<String>,
}

async fn presence(conn: &mut AnyConnection, round: i64) -> Result<HashMap<i64, Presence>, StoreError> {
    let rows = sqlx::query(
        "SELECT resident_id, household_id, building_id, phone FROM census_rows \
         WHERE round_id = $1 AND resident_id IS NOT NULL AND outcome IN ('created', 'matched')",
    )
    .bind(round)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        out.insert(
            r.try_get("resident_id")?,
            Presence {
                household: r.try_get("household_id")?,
                building: r.try_get("building_id")?,
                phone: r.try_get("phone")?,
            },
        );
    }
    Ok(out)
}

/// Who was there before, within the plan's scope: for each building, the
/// people of the latest earlier round that covered it.
async fn before_presence(conn: &mut AnyConnection, plan: &Plan) -> Result<HashMap<i64, Presence>, StoreError> {
    let mut out: HashMap<i64, Presence> = HashMap::new();
    for step in &plan.steps {
        for (rid, p) in presence(conn, step.round).await? {
            if plan.admits(step, p.building) {
                out.entry(rid).or_insert(p);
            }
        }
    }
    Ok(out)
}

type Change = (&'static str, i64, Option<Presence>, Option<Presence>, Option<i64>);

impl Store {
    /// Compares round `id` with the rounds before it, within its scope.
    pub async fn reconcile(&self, id: i64) -> Result<Reconciliation, StoreError> {
        let round = self.get_round(id).await?;
        let previous = self.previous_round(id).await?;
        let mut conn = self.pool.acquire().await?;
        let plan = plan(&mut conn, id).await?;
        let now = presence(&mut conn, id).await?;
        let before = before_presence(&mut conn, &plan).await?;
        let leavers = leavers_of(&mut conn, id, &plan).await?;
        drop(conn);
        let buildings: HashMap<i64, String> =
            sqlx::query_as::<_, (i64, String)>("SELECT b.id, b.name FROM buildings b WHERE b.compound_id = $1")
                .bind(round.compound_id)
                .fetch_all(self.pool())
                .await?
                .into_iter()
                .collect();
        let mut per: BTreeMap<Option<i64>, ReconcileCounts> = BTreeMap::new();
        let mut changes: Vec<Change> = Vec::new();
        for (rid, p) in &now {
            match before.get(rid) {
                None => {
                    per.entry(p.building).or_default().new += 1;
                    changes.push(("new", *rid, None, Some(p.clone()), None));
                }
                Some(b) => {
                    let c = per.entry(p.building).or_default();
                    c.still_present += 1;
                    if p.household.is_some() && b.household.is_some() && p.household != b.household {
                        c.moved += 1;
                        changes.push(("moved", *rid, Some(b.clone()), Some(p.clone()), None));
                    }
                    if p.phone.is_some() && p.phone != b.phone {
                        c.phone_changed += 1;
                        changes.push(("phone_changed", *rid, Some(b.clone()), Some(p.clone()), None));
                    }
                }
            }
        }
        for (row, rid) in &leavers.to_check {
            let b = &leavers.missing[rid];
            per.entry(b.building).or_default().to_check += 1;
            changes.push(("to_check", *rid, Some(b.clone()), None, Some(*row)));
        }
        for (row, rid) in &leavers.unresolved {
            let b = &leavers.missing[rid];
            per.entry(b.building).or_default().unresolved += 1;
            changes.push(("unresolved", *rid, Some(b.clone()), None, Some(*row)));
        }
        for (rid, b) in &leavers.gone {
            per.entry(b.building).or_default().gone += 1;
            changes.push(("gone", *rid, Some(b.clone()), None, None));
        }
        let mut totals = ReconcileCounts::default();
        let mut rows: Vec<ReconcileCounts> = per
            .into_iter()
            .map(|(bid, mut c)| {
                c.building_id = bid;
                c.building = bid.and_then(|b| buildings.get(&b).cloned()).unwrap_or_default();
                totals.still_present += c.still_present;
                totals.gone += c.gone;
                totals.new += c.new;
                totals.moved += c.moved;
                totals.phone_changed += c.phone_changed;
                totals.to_check += c.to_check;
                totals.unresolved += c.unresolved;
                c
            })
            .collect();
        rows.sort_by_key(|r| natural_key(&r.building));
        let mut people = self.describe_changes(changes, &buildings).await?;
        let states: HashMap<i64, String> = self
            .round_departures(id)
            .await?
            .into_iter()
            .map(|d| (d.resident_id, if d.restored_at.is_some() { "restored".to_string() } else { d.state }))
            .collect();
        for p in people.iter_mut().filter(|p| p.change == "gone") {
            p.state = states.get(&p.resident_id).cloned();
        }
        let mut scope_buildings: Vec<String> = match &plan.scope {
            Some(s) => s.iter().filter_map(|b| buildings.get(b).cloned()).collect(),
            None => buildings.values().cloned().collect(),
        };
        scope_buildings.sort_by_key(|n| natural_key(n));
        let scope = round.scope.clone();
        Ok(Reconciliation { round, previous, totals, buildings: rows, people, scope, scope_buildings })
    }

    async fn describe_changes(
        &self,
        changes: Vec<Change>,
        buildings: &HashMap<i64, String>,
    ) -> Result<Vec<ReconcilePerson>, StoreError> {
        let mut names: HashMap<i64, String> = HashMap::new();
        let mut labels: HashMap<i64, String> = HashMap::new();
        let ids: Vec<i64> = changes.iter().map(|c| c.1).collect();
        for chunk in ids.chunks(500) {
            let list = chunk.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            for (id, name) in
                sqlx::query_as::<_, (i64, String)>(&format!("SELECT id, name FROM residents WHERE id IN ({list})"))
                    .fetch_all(self.pool())
                    .await?
            {
                names.insert(id, name);
            }
        }
        let households: Vec<i64> = changes
            .iter()
            .flat_map(|c| [c.2.as_ref().and_then(|p| p.household), c.3.as_ref().and_then(|p| p.household)])
            .flatten()
            .collect();
        for chunk in households.chunks(500) {
            let list = chunk.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            let sql = format!(
                "SELECT h.id, b.name, u.name, h.room FROM households h JOIN units u ON u.id = h.unit_id \
                 JOIN buildings b ON b.id = h.building_id WHERE h.id IN ({list})"
            );
            for (id, b, u, room) in
                sqlx::query_as::<_, (i64, String, String, String)>(&sql).fetch_all(self.pool()).await?
            {
                labels.insert(id, format!("{b} {u} {room}"));
            }
        }
        let label = |p: &Option<Presence>| p.as_ref().and_then(|p| p.household).and_then(|h| labels.get(&h).cloned());
        let mut out: Vec<ReconcilePerson> = changes
            .into_iter()
            .map(|(change, rid, before, after, row_number)| {
                let building = after
                    .as_ref()
                    .or(before.as_ref())
                    .and_then(|p| p.building)
                    .and_then(|b| buildings.get(&b).cloned())
                    .unwrap_or_default();
                ReconcilePerson {
                    change,
                    resident_id: rid,
                    name: names.get(&rid).cloned().unwrap_or_default(),
                    building,
                    before: label(&before),
                    after: label(&after),
                    old_phone: if change == "phone_changed" {
                        before.as_ref().and_then(|p| p.phone.clone())
                    } else {
                        None
                    },
                    new_phone: if change == "phone_changed" {
                        after.as_ref().and_then(|p| p.phone.clone())
                    } else {
                        None
                    },
                    row_number,
                    state: None,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            (a.change, natural_key(&a.building), a.resident_id).cmp(&(
                b.change,
                natural_key(&b.building),
                b.resident_id,
            ))
        });
        Ok(out)
    }
}

/// Sorts "2号楼" before "10号楼".
pub(crate) fn natural_key(name: &str) -> (u64, String) {
    let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
    (digits.parse().unwrap_or(u64::MAX), name.to_string())
}
