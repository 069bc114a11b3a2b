//! Coverage of a sampling round — should-test (the census's residents minus
//! exemptions) against sampled (bound to a valid tube) — by compound, building,
//! unit and household, and the missed list (补采名单) by building and team.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;

use crate::db::Store;
use crate::error::StoreError;

/// Coverage of a round for one building.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BuildingCoverage {
    /// The building.
    pub building: i64,
    /// Its name.
    pub name: String,
    /// Its compound.
    pub compound: i64,
    /// The compound's name (building names repeat from one compound to the next).
    pub compound_name: String,
    /// The team assigned to it in this round.
    pub team: Option<String>,
    /// Residents who should be tested.
    pub expected: i64,
    /// Residents bound to a valid tube.
    pub sampled: i64,
}

/// Coverage of a round for one compound.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CompoundCoverage {
    /// The compound.
    pub compound: i64,
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
    /// Per compound.
    pub compounds: Vec<CompoundCoverage>,
    /// Per building.
    pub buildings: Vec<BuildingCoverage>,
}

/// Coverage of one household.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HouseholdCoverage {
    /// The household.
    pub household: i64,
    /// Its floor.
    pub floor: Option<i64>,
    /// Its room.
    pub room: String,
    /// Residents who should be tested.
    pub expected: i64,
    /// Residents bound to a valid tube.
    pub sampled: i64,
}

/// Coverage of one unit, with its households.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UnitCoverage {
    /// The unit.
    pub unit: i64,
    /// Its name.
    pub name: String,
    /// Residents who should be tested.
    pub expected: i64,
    /// Residents bound to a valid tube.
    pub sampled: i64,
    /// Its households, by floor and room.
    pub households: Vec<HouseholdCoverage>,
}

/// One building's coverage down to its households.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BuildingDetail {
    /// The building's totals.
    #[serde(flatten)]
    pub totals: BuildingCoverage,
    /// Per unit and household.
    pub units: Vec<UnitCoverage>,
}

/// A resident still to be sampled.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Missed {
    /// The resident.
    pub resident_id: i64,
    /// The name.
    pub name: String,
    /// The building's id.
    pub building_id: i64,
    /// The building's name.
    pub building: String,
    /// The compound's name.
    pub compound: String,
    /// The team assigned to the building.
    pub team: Option<String>,
    /// The unit's name.
    pub unit: String,
    /// The floor.
    pub floor: Option<i64>,
    /// The room.
    pub room: String,
    /// Why they are missed, when known: noted by the sweep (`bedridden`,
    /// `refused`, …), or `tube_invalid` when a lab voided their tube.
    pub reason: Option<String>,
    /// The household's phone, as stored: the person's own, else the first
    /// one recorded for someone of the household. Callers mask it for the
    /// reader (`frontline_domain::privacy::Disclosure::phone`); left out of
    /// the answer when there is none (or the reader may not see phones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// Which part of the missed list to read.
#[derive(Debug, Clone, Default)]
pub struct MissedFilter {
    /// One building.
    pub building: Option<i64>,
    /// One team's buildings.
    pub team: Option<String>,
}

/// Expected and sampled counts per building of a round's scope. Expected is
/// the residents minus those exempted and not sampled: a person sampled despite
/// an exemption counts as expected and sampled, so that expected − sampled is
/// exactly the missed list. The sampled count is the building's counter, kept
/// by the writers with the members they write.
const BUILDING_COUNTS: &str = "SELECT b.id, b.name, b.compound_id, c.name AS compound_name, rb.team, \
       (SELECT COUNT(*) FROM residents r WHERE r.building_id = b.id) \
       - (SELECT COUNT(*) FROM sampling_exemptions e JOIN residents r ON r.id = e.resident_id \
          WHERE e.round_id = rb.round_id AND r.building_id = b.id \
            AND NOT EXISTS (SELECT 1 FROM sampling_members m \
                            WHERE m.round_id = e.round_id AND m.resident_id = e.resident_id AND m.valid = 1)) AS expected, \
       rb.sampled \
     FROM sampling_round_buildings rb JOIN buildings b ON b.id = rb.building_id \
     JOIN compounds c ON c.id = b.compound_id WHERE rb.round_id = $1";

/// One building's counts (round `$1`, building `$2`), as [`BUILDING_COUNTS`]
/// has them, read from the building's residents: each is looked up in the
/// round's exemptions, and an exempted one in its members, by primary key —
/// a cost that follows the building's size, not the round's. (The left joins
/// keep the residents the outer loop: SQLite does not reorder them.)
/// Expected = residents − exempted + exempted and sampled all the same.
const ONE_BUILDING_COUNTS: &str = "SELECT b.id, b.name, b.compound_id, c.name AS compound_name, rb.team, \
       (SELECT COUNT(*) - COUNT(e.resident_id) + COUNT(m.resident_id) FROM residents r \
          LEFT JOIN sampling_exemptions e ON e.round_id = rb.round_id AND e.resident_id = r.id \
          LEFT JOIN sampling_members m ON m.round_id = e.round_id AND m.resident_id = e.resident_id AND m.valid = 1 \
          WHERE r.building_id = b.id) AS expected, \
       rb.sampled \
     FROM sampling_round_buildings rb JOIN buildings b ON b.id = rb.building_id \
     JOIN compounds c ON c.id = b.compound_id WHERE rb.round_id = $1 AND rb.building_id = $2";

/// Per household of a building (round `$1`, building `$2`): its residents,
/// each with their exemption and member row looked up by primary key, counted
/// in one pass. Expected as in [`ONE_BUILDING_COUNTS`]; sampled is the
/// residents bound to a valid tube.
const HOUSEHOLD_COUNTS: &str = "SELECT h.id, h.floor, h.room, u.id AS unit_id, u.name AS unit_name, \
       COUNT(r.id) - COUNT(e.resident_id) \
         + COUNT(CASE WHEN e.resident_id IS NOT NULL AND m.valid = 1 THEN 1 END) AS expected, \
       COUNT(CASE WHEN m.valid = 1 THEN 1 END) AS sampled \
     FROM households h JOIN units u ON u.id = h.unit_id \
     LEFT JOIN residents r ON r.household_id = h.id \
     LEFT JOIN sampling_exemptions e ON e.round_id = $1 AND e.resident_id = r.id \
     LEFT JOIN sampling_members m ON m.round_id = $1 AND m.resident_id = r.id \
     WHERE h.building_id = $2 \
     GROUP BY h.id, h.floor, h.room, u.id, u.name, u.number \
     ORDER BY u.number, u.name, u.id, h.floor, h.room, h.id";

fn building_row(r: &sqlx::any::AnyRow) -> Result<BuildingCoverage, sqlx::Error> {
    Ok(BuildingCoverage {
        building: r.try_get("id")?,
        name: r.try_get("name")?,
        compound: r.try_get("compound_id")?,
        compound_name: r.try_get("compound_name")?,
        team: r.try_get("team")?,
        expected: r.try_get("expected")?,
        sampled: r.try_get("sampled")?,
    })
}

impl Store {
    /// `NotFound` unless the round exists (without reading its scope, as fetching it would).
    async fn require_round(&self, round: i64) -> Result<(), StoreError> {
        sqlx::query_scalar::<_, i64>("SELECT id FROM sampling_rounds WHERE id = $1")
            .bind(round)
            .fetch_optional(self.pool())
            .await?
            .map(|_| ())
            .ok_or(StoreError::NotFound)
    }

    /// Coverage of a round: should-test against sampled, per compound and building.
    pub async fn sampling_coverage(&self, round: i64) -> Result<Coverage, StoreError> {
        self.require_round(round).await?;
        let rows = sqlx::query(&format!("{BUILDING_COUNTS} ORDER BY b.id")).bind(round).fetch_all(self.pool()).await?;
        let buildings = rows.iter().map(building_row).collect::<Result<Vec<_>, _>>()?;
        let mut by_compound: BTreeMap<i64, CompoundCoverage> = BTreeMap::new();
        for b in &buildings {
            let c = by_compound.entry(b.compound).or_insert_with(|| CompoundCoverage {
                compound: b.compound,
                name: b.compound_name.clone(),
                expected: 0,
                sampled: 0,
            });
            c.expected += b.expected;
            c.sampled += b.sampled;
        }
        let compounds = by_compound.into_values().collect();
        let expected = buildings.iter().map(|b| b.expected).sum();
        let sampled = buildings.iter().map(|b| b.sampled).sum();
        Ok(Coverage { expected, sampled, missed: (expected - sampled).max(0), compounds, buildings })
    }

    /// One building's coverage in a round (the sampler's and the building leader's view):
    /// one query, whose cost follows the building's size.
    pub async fn building_coverage(&self, round: i64, building: i64) -> Result<BuildingCoverage, StoreError> {
        let row = sqlx::query(ONE_BUILDING_COUNTS)
            .bind(round)
            .bind(building)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(building_row(&row)?)
    }

    /// One building's coverage per unit and household: two queries, whatever the
    /// building's size, each following the building's residents (not the round's members).
    pub async fn building_coverage_detail(&self, round: i64, building: i64) -> Result<BuildingDetail, StoreError> {
        let totals = self.building_coverage(round, building).await?;
        let rows = sqlx::query(HOUSEHOLD_COUNTS).bind(round).bind(building).fetch_all(self.pool()).await?;
        let mut units: Vec<UnitCoverage> = Vec::new();
        for r in rows {
            let unit: i64 = r.try_get("unit_id")?;
            let household = HouseholdCoverage {
                household: r.try_get("id")?,
                floor: r.try_get("floor")?,
                room: r.try_get("room")?,
                expected: r.try_get("expected")?,
                sampled: r.try_get("sampled")?,
            };
            if units.last().is_none_or(|u| u.unit != unit) {
                units.push(UnitCoverage {
                    unit,
                    name: r.try_get("unit_name")?,
                    expected: 0,
                    sampled: 0,
                    households: vec![],
                });
            }
            if let Some(u) = units.last_mut() {
                u.expected += household.expected;
                u.sampled += household.sampled;
                u.households.push(household);
            }
        }
        Ok(BuildingDetail { totals, units })
    }

    /// The missed list (补采名单): residents in scope not bound to a valid tube and not exempted,
    /// by building, unit, floor and room; optionally one building's or one team's part.
    pub async fn sampling_missed(&self, round: i64, filter: &MissedFilter) -> Result<Vec<Missed>, StoreError> {
        self.require_round(round).await?;
        let rows = sqlx::query(
            "SELECT r.id, r.name, b.id AS building_id, b.name AS building, c.name AS compound, rb.team, u.name AS unit, \
               h.floor, h.room, COALESCE(mr.reason, CASE WHEN EXISTS (SELECT 1 FROM sampling_members v \
                 WHERE v.round_id = $1 AND v.resident_id = r.id AND v.valid = 0) THEN 'tube_invalid' END) AS reason, \
               COALESCE(r.phone, (SELECT o.phone FROM residents o WHERE o.household_id = r.household_id \
                 AND o.phone IS NOT NULL ORDER BY o.id LIMIT 1)) AS phone \
             FROM residents r \
             JOIN sampling_round_buildings rb ON rb.building_id = r.building_id AND rb.round_id = $1 \
             JOIN households h ON h.id = r.household_id JOIN units u ON u.id = h.unit_id JOIN buildings b ON b.id = h.building_id \
             JOIN compounds c ON c.id = b.compound_id \
             LEFT JOIN sampling_missed_reasons mr ON mr.round_id = $1 AND mr.resident_id = r.id \
             WHERE NOT EXISTS (SELECT 1 FROM sampling_members m WHERE m.round_id = $1 AND m.resident_id = r.id AND m.valid = 1) \
               AND NOT EXISTS (SELECT 1 FROM sampling_exemptions e WHERE e.round_id = $1 AND e.resident_id = r.id) \
               AND ($2 IS NULL OR rb.building_id = $2) AND ($3 IS NULL OR rb.team = $3) \
             ORDER BY b.id, u.number, h.floor, h.room, r.id",
        )
        .bind(round)
        .bind(filter.building)
        .bind(filter.team.as_deref())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Missed {
                    resident_id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    building_id: r.try_get("building_id")?,
                    building: r.try_get("building")?,
                    compound: r.try_get("compound")?,
                    team: r.try_get("team")?,
                    unit: r.try_get("unit")?,
                    floor: r.try_get("floor")?,
                    room: r.try_get("room")?,
                    reason: r.try_get("reason")?,
                    phone: r.try_get("phone")?,
                })
            })
            .collect()
    }
}
