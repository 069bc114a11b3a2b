//! The district at a glance: counts for the overview page.

use frontline_domain::people::SpecialNeed;
use serde::Serialize;
use sqlx::Row;

use crate::census::PRESENT;
use crate::db::Store;
use crate::error::StoreError;

/// Counts of places and people, and of special needs by kind.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Overview {
    /// Compounds.
    pub compounds: i64,
    /// Buildings.
    pub buildings: i64,
    /// Households.
    pub households: i64,
    /// Residents.
    pub residents: i64,
    /// Residents with each special need (recorded, or derived from age), in display order.
    pub needs: Vec<(SpecialNeed, i64)>,
}

impl Store {
    /// Counts the district. `elderly_born_by` and `infant_born_after` are `YYYY-MM-DD`
    /// cut-offs for the needs derived from age.
    pub async fn overview(&self, elderly_born_by: &str, infant_born_after: &str) -> Result<Overview, StoreError> {
        let mut sums = String::new();
        for need in SpecialNeed::ALL {
            let cond = match need {
                SpecialNeed::Elderly => format!("(needs & {}) <> 0 OR birth_date <= $1", need.bit()),
                SpecialNeed::Infant => format!("(needs & {}) <> 0 OR birth_date > $2", need.bit()),
                other => format!("(needs & {}) <> 0", other.bit()),
            };
            sums.push_str(&format!(", SUM(CASE WHEN {cond} THEN 1 ELSE 0 END) AS {}", need.code()));
        }
        let sql = format!(
            "SELECT (SELECT COUNT(*) FROM compounds) AS compounds, (SELECT COUNT(*) FROM buildings) AS buildings, \
             (SELECT COUNT(*) FROM households) AS households, COUNT(*) AS residents{sums} FROM residents r WHERE {PRESENT}"
        );
        let row = sqlx::query(&sql).bind(elderly_born_by).bind(infant_born_after).fetch_one(&self.pool).await?;
        let mut needs = Vec::new();
        for need in SpecialNeed::ALL {
            let n: Option<i64> = row.try_get(need.code())?;
            needs.push((need, n.unwrap_or(0)));
        }
        Ok(Overview {
            compounds: row.try_get("compounds")?,
            buildings: row.try_get("buildings")?,
            households: row.try_get("households")?,
            residents: row.try_get("residents")?,
            needs,
        })
    }
}

impl Store {
    /// The district's name, when one exists.
    pub async fn district_name(&self) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT name FROM districts ORDER BY id LIMIT 1").fetch_optional(&self.pool).await?)
    }
}
