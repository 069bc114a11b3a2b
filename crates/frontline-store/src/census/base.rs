//! Base numbers (底数): residents, households, special needs by kind and people
//! away, per building, compound and district, with the round they come from.

use std::collections::BTreeMap;

use frontline_domain::people::SpecialNeed;
use serde::Serialize;
use sqlx::Row;

use super::departures::PRESENT;
use super::reconcile::natural_key;
use crate::db::Store;
use crate::error::StoreError;

/// Base numbers of one building, compound or the district.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct BaseRow {
    /// The compound's id (none for the district).
    pub compound_id: Option<i64>,
    /// The compound's name.
    pub compound: String,
    /// The building's id (none for compound and district rows).
    pub building_id: Option<i64>,
    /// The building's name.
    pub building: String,
    /// Residents.
    pub residents: i64,
    /// Households with at least one resident.
    pub households: i64,
    /// Residents away (外出) according to the latest round.
    pub away: i64,
    /// Residents with each special need, in display order (codes of [`SpecialNeed`]).
    pub needs: Vec<(String, i64)>,
    /// The latest census round of the compound: its name.
    pub round: Option<String>,
    /// …and when it was committed (unix ms).
    pub round_at: Option<i64>,
}

/// Base numbers at every level.
#[derive(Debug, Clone, Serialize)]
pub struct BaseNumbers {
    /// Per building, by compound then building.
    pub buildings: Vec<BaseRow>,
    /// Per compound.
    pub compounds: Vec<BaseRow>,
    /// The whole district (residents without an address included).
    pub district: BaseRow,
}

fn add(into: &mut BaseRow, row: &BaseRow) {
    into.residents += row.residents;
    into.households += row.households;
    into.away += row.away;
    if into.needs.is_empty() {
        into.needs = row.needs.iter().map(|(c, _)| (c.clone(), 0)).collect();
    }
    for (slot, (_, n)) in into.needs.iter_mut().zip(&row.needs) {
        slot.1 += n;
    }
}

impl Store {
    /// Base numbers now. `elderly_born_by` and `infant_born_after` are `YYYY-MM-DD` cut-offs for needs derived from age.
    pub async fn base_numbers(
        &self,
        elderly_born_by: &str,
        infant_born_after: &str,
    ) -> Result<BaseNumbers, StoreError> {
        let mut sums = String::new();
        for need in SpecialNeed::ALL {
            let cond = match need {
                SpecialNeed::Elderly => format!("(r.needs & {}) <> 0 OR r.birth_date <= $1", need.bit()),
                SpecialNeed::Infant => format!("(r.needs & {}) <> 0 OR r.birth_date > $2", need.bit()),
                other => format!("(r.needs & {}) <> 0", other.bit()),
            };
            sums.push_str(&format!(", SUM(CASE WHEN {cond} THEN 1 ELSE 0 END) AS n_{}", need.code()));
        }
        let sql = format!(
            "SELECT r.building_id, COUNT(*) AS residents, COUNT(DISTINCT r.household_id) AS households, \
             SUM(CASE WHEN r.away = 1 THEN 1 ELSE 0 END) AS away{sums} FROM residents r WHERE {PRESENT} GROUP BY r.building_id"
        );
        let rows = sqlx::query(&sql).bind(elderly_born_by).bind(infant_born_after).fetch_all(self.pool()).await?;
        let places: Vec<(i64, String, i64, String)> = sqlx::query_as(
            "SELECT b.id, b.name, c.id, c.name FROM buildings b JOIN compounds c ON c.id = b.compound_id",
        )
        .fetch_all(self.pool())
        .await?;
        let rounds: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT compound_id, name, created_at FROM census_rounds WHERE id IN (SELECT MAX(id) FROM census_rounds GROUP BY compound_id)",
        )
        .fetch_all(self.pool())
        .await?;
        let mut district = BaseRow::default();
        let mut by_building: BTreeMap<i64, BaseRow> = BTreeMap::new();
        for row in &rows {
            let mut needs = Vec::new();
            for need in SpecialNeed::ALL {
                let n: Option<i64> = row.try_get(format!("n_{}", need.code()).as_str())?;
                needs.push((need.code().to_string(), n.unwrap_or(0)));
            }
            let away: Option<i64> = row.try_get("away")?;
            let base = BaseRow {
                residents: row.try_get("residents")?,
                households: row.try_get("households")?,
                away: away.unwrap_or(0),
                needs,
                ..Default::default()
            };
            add(&mut district, &base);
            let building: Option<i64> = row.try_get("building_id")?;
            if let Some(b) = building {
                by_building.insert(b, base);
            }
        }
        let mut compounds: BTreeMap<i64, BaseRow> = BTreeMap::new();
        let mut buildings = Vec::new();
        for (bid, bname, cid, cname) in places {
            let round = rounds.iter().find(|r| r.0 == cid);
            let mut row = by_building.remove(&bid).unwrap_or_else(|| BaseRow {
                needs: SpecialNeed::ALL.iter().map(|n| (n.code().to_string(), 0)).collect(),
                ..Default::default()
            });
            row.compound_id = Some(cid);
            row.compound.clone_from(&cname);
            row.building_id = Some(bid);
            row.building = bname;
            row.round = round.map(|r| r.1.clone());
            row.round_at = round.map(|r| r.2);
            let c = compounds.entry(cid).or_insert_with(|| BaseRow {
                compound_id: Some(cid),
                compound: cname,
                round: round.map(|r| r.1.clone()),
                round_at: round.map(|r| r.2),
                ..Default::default()
            });
            add(c, &row);
            buildings.push(row);
        }
        buildings.sort_by(|a, b| (&a.compound, natural_key(&a.building)).cmp(&(&b.compound, natural_key(&b.building))));
        let mut compounds: Vec<BaseRow> = compounds.into_values().collect();
        compounds.sort_by(|a, b| a.compound.cmp(&b.compound));
        district.round_at = rounds.iter().map(|r| r.2).max();
        Ok(BaseNumbers { buildings, compounds, district })
    }
}
