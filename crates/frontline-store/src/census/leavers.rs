//! Who left since the rounds before: the people an earlier round named, within
//! this round's scope, who have no row at all in it — less those a refused row
//! may stand for (its ID number destroyed by a number cell; tied by name and the
//! surviving digits — region and birth date, or the region alone — to one of
//! them: "to check"; to several: all "unresolved").
//! One computation for the reconciliation shown and the departures recorded
//! when a round is confirmed, on any connection (the import's transaction too).

use std::collections::{HashMap, HashSet};

use sqlx::{AnyConnection, Row};

use super::scope::{sheet_buildings, Scope};
use crate::error::StoreError;

/// Where a person was in a round.
#[derive(Clone)]
pub(super) struct Presence {
    pub(super) household: Option<i64>,
    pub(super) building: Option<i64>,
    pub(super) phone: Option<String>,
}

/// An earlier round, and which of its rows speak for the buildings compared.
pub(super) struct Step {
    pub(super) round: i64,
    /// The buildings it covered (`None`: the whole compound).
    covers: Option<HashSet<i64>>,
    /// Buildings a newer earlier round covered: its rows there are out of date.
    claimed: HashSet<i64>,
}

/// What a round is compared with: its scope (`None`: the compound) and, newest
/// first, the earlier rounds of its compound down to the last whole-compound one.
pub(super) struct Plan {
    pub(super) scope: Option<HashSet<i64>>,
    pub(super) steps: Vec<Step>,
}

impl Plan {
    /// Whether `step`'s row for a person in `building` speaks for them.
    pub(super) fn admits(&self, step: &Step, building: Option<i64>) -> bool {
        let in_scope = self.scope.as_ref().is_none_or(|s| building.is_some_and(|b| s.contains(&b)));
        let covered = step.covers.as_ref().is_none_or(|c| building.is_some_and(|b| c.contains(&b)));
        let fresh = building.is_none_or(|b| !step.claimed.contains(&b));
        in_scope && covered && fresh
    }
}

pub(super) async fn plan(conn: &mut AnyConnection, round: i64) -> Result<Plan, StoreError> {
    let (compound, scope): (i64, String) = sqlx::query_as("SELECT compound_id, scope FROM census_rounds WHERE id = $1")
        .bind(round)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    let scope = match Scope::from_code(&scope) {
        Some(Scope::Buildings) => Some(sheet_buildings(conn, round).await?),
        _ => None,
    };
    let earlier: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, scope FROM census_rounds WHERE compound_id = $1 AND id < $2 ORDER BY id DESC")
            .bind(compound)
            .bind(round)
            .fetch_all(&mut *conn)
            .await?;
    let mut steps = Vec::new();
    let mut claimed: HashSet<i64> = HashSet::new();
    for (id, code) in earlier {
        if Scope::from_code(&code) == Some(Scope::Buildings) {
            let covers = sheet_buildings(conn, id).await?;
            let next: HashSet<i64> = claimed.union(&covers).copied().collect();
            steps.push(Step { round: id, covers: Some(covers), claimed: std::mem::replace(&mut claimed, next) });
        } else {
            steps.push(Step { round: id, covers: None, claimed });
            break;
        }
    }
    Ok(Plan { scope, steps })
}

/// The people of the plan's earlier rounds with no row at all in `round`
/// (created or matched), where they were last seen.
pub(super) async fn missing(
    conn: &mut AnyConnection,
    round: i64,
    plan: &Plan,
) -> Result<HashMap<i64, Presence>, StoreError> {
    let mut out: HashMap<i64, Presence> = HashMap::new();
    for step in &plan.steps {
        // An anti-join on the residents' index: only the people without a row come back.
        let rows = sqlx::query(
            "SELECT p.resident_id, p.household_id, p.building_id, p.phone FROM census_rows p \
             WHERE p.round_id = $1 AND p.resident_id IS NOT NULL AND p.outcome IN ('created', 'matched') \
               AND NOT EXISTS (SELECT 1 FROM census_rows c WHERE c.resident_id = p.resident_id AND c.round_id = $2 \
                               AND c.outcome IN ('created', 'matched'))",
        )
        .bind(step.round)
        .bind(round)
        .fetch_all(&mut *conn)
        .await?;
        for r in rows {
            let p = Presence {
                household: r.try_get("household_id")?,
                building: r.try_get("building_id")?,
                phone: r.try_get("phone")?,
            };
            if plan.admits(step, p.building) {
                out.entry(r.try_get("resident_id")?).or_insert(p);
            }
        }
    }
    Ok(out)
}

/// The residents refused rows of `round` may stand for: `(row number, resident)`
/// pairs of rows tied to exactly one of `missing`, and of rows tied to several.
/// A row ties to the people without a row who bear its name and whose ID number
/// starts with the digits it kept (region and birth date, or the region alone).
async fn refused_ties(
    conn: &mut AnyConnection,
    round: i64,
    missing: &HashMap<i64, Presence>,
) -> Result<(Vec<(i64, i64)>, Vec<(i64, i64)>), StoreError> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT row_number, tie_name, tie_prefix FROM census_rows WHERE round_id = $1 AND outcome = 'refused' \
         AND tie_prefix IS NOT NULL AND tie_name IS NOT NULL ORDER BY row_number",
    )
    .bind(round)
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    // The people without a row, by name: a few hundred for a round, read by id.
    let mut ids: Vec<i64> = missing.keys().copied().collect();
    ids.sort_unstable();
    let mut by_name: HashMap<String, Vec<(i64, String)>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let list = chunk.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let found: Vec<(i64, String, Option<String>)> =
            sqlx::query_as(&format!("SELECT id, name, id_number FROM residents WHERE id IN ({list})"))
                .fetch_all(&mut *conn)
                .await?;
        for (id, name, number) in found {
            if let Some(number) = number {
                by_name.entry(name).or_default().push((id, number));
            }
        }
    }
    let (mut one, mut several) = (Vec::new(), Vec::new());
    for (row, name, prefix) in &rows {
        let mut candidates: Vec<i64> = by_name
            .get(name)
            .into_iter()
            .flatten()
            .filter(|(_, number)| number.starts_with(prefix.as_str()))
            .map(|(id, _)| *id)
            .collect();
        candidates.sort_unstable();
        match candidates.as_slice() {
            [] => {}
            [id] => one.push((*row, *id)),
            many => several.extend(many.iter().map(|id| (*row, *id))),
        }
    }
    Ok((one, several))
}

/// The people without a row, sorted out.
pub(super) struct Leavers {
    /// Gone: no row at all, and no refused row may stand for them.
    pub(super) gone: Vec<(i64, Presence)>,
    /// (refused row, resident) for residents tied to exactly one refused row.
    pub(super) to_check: Vec<(i64, i64)>,
    /// (refused row, resident) for residents a refused row tied to several may stand for.
    pub(super) unresolved: Vec<(i64, i64)>,
    /// Everyone without a row, where they were last seen.
    pub(super) missing: HashMap<i64, Presence>,
}

/// Who left since the rounds before `round`, within its scope.
pub(super) async fn leavers(conn: &mut AnyConnection, round: i64) -> Result<Leavers, StoreError> {
    let plan = plan(conn, round).await?;
    leavers_of(conn, round, &plan).await
}

pub(super) async fn leavers_of(conn: &mut AnyConnection, round: i64, plan: &Plan) -> Result<Leavers, StoreError> {
    let missing = missing(conn, round, plan).await?;
    let (tied, ambiguous) =
        if missing.is_empty() { (Vec::new(), Vec::new()) } else { refused_ties(conn, round, &missing).await? };
    let mut accounted: HashSet<i64> = HashSet::new();
    let to_check: Vec<(i64, i64)> = tied.into_iter().filter(|(_, r)| accounted.insert(*r)).collect();
    let unresolved: Vec<(i64, i64)> = ambiguous.into_iter().filter(|(_, r)| accounted.insert(*r)).collect();
    let mut gone: Vec<(i64, Presence)> =
        missing.iter().filter(|(r, _)| !accounted.contains(r)).map(|(r, p)| (*r, p.clone())).collect();
    gone.sort_by_key(|(r, _)| *r);
    Ok(Leavers { gone, to_check, unresolved, missing })
}
