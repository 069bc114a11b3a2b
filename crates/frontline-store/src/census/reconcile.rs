//! Reconciling a round with the round before it (same compound): who is still
//! present, gone, new, moved household, or changed phone — per building.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sqlx::Row;

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
    /// In the previous round only.
    pub gone: u64,
    /// In this round only.
    pub new: u64,
    /// In both, in another household.
    pub moved: u64,
    /// In both, with another phone number.
    pub phone_changed: u64,
}

/// One person who is gone, new, moved, or changed phone.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReconcilePerson {
    /// `gone`, `new`, `moved` or `phone_changed`.
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
}

/// A round compared with the one before.
#[derive(Debug, Clone, Serialize)]
pub struct Reconciliation {
    /// This round.
    pub round: Round,
    /// The round before, if any (the first round has everyone new).
    pub previous: Option<Round>,
    /// Totals over the compound.
    pub totals: ReconcileCounts,
    /// Per building, by name.
    pub buildings: Vec<ReconcileCounts>,
    /// Everyone who is not simply still present.
    pub people: Vec<ReconcilePerson>,
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

impl Store {
    /// Compares round `id` with the previous round of its compound.
    pub async fn reconcile(&self, id: i64) -> Result<Reconciliation, StoreError> {
        let round = self.get_round(id).await?;
        let previous = self.previous_round(id).await?;
        let now = presence(self, id).await?;
        let before = match &previous {
            Some(p) => presence(self, p.id).await?,
            None => HashMap::new(),
        };
        let buildings: HashMap<i64, String> =
            sqlx::query_as::<_, (i64, String)>("SELECT b.id, b.name FROM buildings b WHERE b.compound_id = $1")
                .bind(round.compound_id)
                .fetch_all(self.pool())
                .await?
                .into_iter()
                .collect();
        let mut per: BTreeMap<Option<i64>, ReconcileCounts> = BTreeMap::new();
        let mut changes: Vec<(&'static str, i64, Option<Presence>, Option<Presence>)> = Vec::new();
        for (rid, p) in &now {
            match before.get(rid) {
                None => {
                    per.entry(p.building).or_default().new += 1;
                    changes.push(("new", *rid, None, Some(p.clone())));
                }
                Some(b) => {
                    let c = per.entry(p.building).or_default();
                    c.still_present += 1;
                    if p.household.is_some() && b.household.is_some() && p.household != b.household {
                        c.moved += 1;
                        changes.push(("moved", *rid, Some(b.clone()), Some(p.clone())));
                    }
                    if p.phone.is_some() && p.phone != b.phone {
                        c.phone_changed += 1;
                        changes.push(("phone_changed", *rid, Some(b.clone()), Some(p.clone())));
                    }
                }
            }
        }
        for (rid, b) in &before {
            if !now.contains_key(rid) {
                per.entry(b.building).or_default().gone += 1;
                changes.push(("gone", *rid, Some(b.clone()), None));
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
                c
            })
            .collect();
        rows.sort_by_key(|r| natural_key(&r.building));
        let people = self.describe_changes(changes, &buildings).await?;
        Ok(Reconciliation { round, previous, totals, buildings: rows, people })
    }

    async fn describe_changes(
        &self,
        changes: Vec<(&'static str, i64, Option<Presence>, Option<Presence>)>,
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
            .map(|(change, rid, before, after)| {
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
