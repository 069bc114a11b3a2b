//! Reconciling a round with the rounds before it (same compound): who is still
//! present, gone, new, moved household, or changed phone — per building, within
//! the round's scope. A refused row whose ID number lost its last digits in a
//! number cell is not a person who left: tied by name and the surviving digits
//! to exactly one resident, that resident is "to check"; tied to several, they
//! are all "unresolved". Only people with no row at all are gone.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use sqlx::Row;

use super::scope::{sheet_buildings, Scope};
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

#[derive(Clone)]
struct Presence {
    household: Option<i64>,
    building: Option<i64>,
    phone: Option<String>,
}

async fn presence(store: &Store, round: i64) -> Result<HashMap<i64, Presence>, StoreError> {
    let rows = sqlx::query(
        "SELECT resident_id, household_id, building_id, phone FROM census_rows \
         WHERE round_id = $1 AND resident_id IS NOT NULL AND outcome IN ('created', 'matched')",
    )
    .bind(round)
    .fetch_all(store.pool())
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

/// Who was there before, within `scope` (`None`: the compound): for each
/// building, the people of the latest earlier round that covered it.
async fn before_presence(
    store: &Store,
    round: &Round,
    scope: Option<&HashSet<i64>>,
) -> Result<HashMap<i64, Presence>, StoreError> {
    let earlier: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, scope FROM census_rounds WHERE compound_id = $1 AND id < $2 ORDER BY id DESC")
            .bind(round.compound_id)
            .bind(round.id)
            .fetch_all(store.pool())
            .await?;
    let in_scope = |b: Option<i64>| scope.is_none_or(|s| b.is_some_and(|b| s.contains(&b)));
    let mut out: HashMap<i64, Presence> = HashMap::new();
    let mut claimed: HashSet<Option<i64>> = HashSet::new();
    for (id, code) in earlier {
        let whole = Scope::from_code(&code) != Some(Scope::Buildings);
        let covers = if whole {
            None
        } else {
            let mut conn = store.pool().acquire().await?;
            Some(sheet_buildings(&mut conn, id).await?)
        };
        for (rid, p) in presence(store, id).await? {
            let covered = covers.as_ref().is_none_or(|c| p.building.is_some_and(|b| c.contains(&b)));
            if covered && in_scope(p.building) && !claimed.contains(&p.building) && !out.contains_key(&rid) {
                out.insert(rid, p);
            }
        }
        match covers {
            None => break,
            Some(c) => claimed.extend(c.into_iter().map(Some)),
        }
    }
    Ok(out)
}

/// The residents refused rows of `round` may stand for: `(row number, resident)`
/// pairs of rows tied to exactly one resident of `before`, and of rows tied to several.
async fn refused_ties(
    store: &Store,
    round: i64,
    before: &HashMap<i64, Presence>,
) -> Result<(Vec<(i64, i64)>, Vec<(i64, i64)>), StoreError> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT row_number, tie_name, tie_prefix FROM census_rows WHERE round_id = $1 AND outcome = 'refused' \
         AND tie_prefix IS NOT NULL AND tie_name IS NOT NULL ORDER BY row_number",
    )
    .bind(round)
    .fetch_all(store.pool())
    .await?;
    let mut by_prefix: HashMap<String, Vec<(i64, String)>> = HashMap::new();
    for prefix in rows.iter().map(|r| &r.2) {
        if by_prefix.contains_key(prefix) {
            continue;
        }
        // Every ID number starting with the prefix: a range of the unique index,
        // bounded by the next prefix (digits only, so any collation orders it alike).
        let Ok(n) = prefix.parse::<u64>() else { continue };
        let end = format!("{:0width$}", n + 1, width = prefix.len());
        let found: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, name FROM residents WHERE id_number >= $1 AND id_number < $2")
                .bind(prefix)
                .bind(end)
                .fetch_all(store.pool())
                .await?;
        by_prefix.insert(prefix.clone(), found);
    }
    let (mut one, mut several) = (Vec::new(), Vec::new());
    for (row, name, prefix) in &rows {
        let candidates: Vec<i64> = by_prefix
            .get(prefix)
            .into_iter()
            .flatten()
            .filter(|(id, n)| n == name && before.contains_key(id))
            .map(|(id, _)| *id)
            .collect();
        match candidates.as_slice() {
            [] => {}
            [id] => one.push((*row, *id)),
            many => several.extend(many.iter().map(|id| (*row, *id))),
        }
    }
    Ok((one, several))
}

type Change = (&'static str, i64, Option<Presence>, Option<Presence>, Option<i64>);

impl Store {
    /// Compares round `id` with the rounds before it, within its scope.
    pub async fn reconcile(&self, id: i64) -> Result<Reconciliation, StoreError> {
        let round = self.get_round(id).await?;
        let previous = self.previous_round(id).await?;
        let scope = self.round_scope_buildings(id).await?;
        let now = presence(self, id).await?;
        let before = before_presence(self, &round, scope.as_ref()).await?;
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
        let missing: HashMap<i64, Presence> =
            before.iter().filter(|(rid, _)| !now.contains_key(rid)).map(|(r, p)| (*r, p.clone())).collect();
        let (tied, ambiguous) = refused_ties(self, id, &missing).await?;
        let mut accounted: HashSet<i64> = HashSet::new();
        for (kind, ties) in [("to_check", tied), ("unresolved", ambiguous)] {
            for (row, rid) in ties {
                if !accounted.insert(rid) {
                    continue;
                }
                let b = &missing[&rid];
                let c = per.entry(b.building).or_default();
                if kind == "to_check" {
                    c.to_check += 1;
                } else {
                    c.unresolved += 1;
                }
                changes.push((kind, rid, Some(b.clone()), None, Some(row)));
            }
        }
        for (rid, b) in &missing {
            if !accounted.contains(rid) {
                per.entry(b.building).or_default().gone += 1;
                changes.push(("gone", *rid, Some(b.clone()), None, None));
            }
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
        let mut scope_buildings: Vec<String> = match &scope {
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
