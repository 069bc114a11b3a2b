//! Bulk seeding of a synthetic district (the demo and the benchmarks).
//!
//! The register seeded is each compound's first census round ([`FIRST_ROUND`]):
//! a whole-compound round with a row for every resident it created,
//! so that the next round's sheet is reconciled with it (who is gone, who is new)
//! like any later round.
//!
//! Rows go in as multi-row `INSERT … VALUES` statements with explicit ids,
//! thousands per statement, in one transaction: one `execute()` per row would
//! be fifty times slower on SQLite.

use frontline_domain::synth::{self, IdAllocator, Plan, SynthOptions, FIRST_ROUND};
use serde_json::json;
use sqlx::AnyConnection;

use crate::audit::{self, Actor, Change};
use crate::bulk::{Batch, V};
use crate::census::{ImportSummary, Scope};
use crate::db::{resync_identity, Store};
use crate::error::StoreError;
use crate::now_ms;
use crate::residents::reversed;

/// What a seeding run created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SeedReport {
    /// Compounds created.
    pub compounds: u64,
    /// Buildings created.
    pub buildings: u64,
    /// Households created.
    pub households: u64,
    /// Residents created.
    pub residents: u64,
    /// Census rounds created: one per compound, its first.
    pub census_rounds: u64,
}

/// Flushes every batch, parents before children: foreign keys are checked per statement.
async fn flush_all(conn: &mut AnyConnection, batches: [&mut Batch; 6]) -> Result<(), StoreError> {
    for b in batches {
        b.flush(conn).await?;
    }
    Ok(())
}

impl Store {
    /// Whether the database already holds a district (the demo reuses it).
    pub async fn has_places(&self) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT id FROM buildings LIMIT 1) AS b")
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    /// Seeds a synthetic district into an empty database, in one transaction.
    pub async fn seed_synthetic(&self, actor: &Actor, opts: &SynthOptions) -> Result<SeedReport, StoreError> {
        let plan: Plan = synth::plan(opts);
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let district: i64 = sqlx::query_scalar("INSERT INTO districts (name, created_at) VALUES ($1, $2) RETURNING id")
            .bind(&plan.district)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        let community: i64 = sqlx::query_scalar(
            "INSERT INTO communities (district_id, name, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(district)
        .bind(&plan.community)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let first_id = |table: &'static str| format!("SELECT COALESCE(MAX(id), 0) + 1 FROM {table}");
        let mut building_id: i64 = sqlx::query_scalar(&first_id("buildings")).fetch_one(&mut *tx).await?;
        let mut unit_id: i64 = sqlx::query_scalar(&first_id("units")).fetch_one(&mut *tx).await?;
        let mut household_id: i64 = sqlx::query_scalar(&first_id("households")).fetch_one(&mut *tx).await?;
        let mut resident_id: i64 = sqlx::query_scalar(&first_id("residents")).fetch_one(&mut *tx).await?;

        let mut buildings = Batch::new(
            self.backend(),
            "INSERT INTO buildings (id, compound_id, number, name, floors, footprint, created_at)",
            7,
        );
        let mut units = Batch::new(self.backend(), "INSERT INTO units (id, building_id, number, name)", 4);
        let mut households =
            Batch::new(self.backend(), "INSERT INTO households (id, unit_id, building_id, floor, room, created_at)", 6);
        let mut residents = Batch::new(
            self.backend(),
            "INSERT INTO residents (id, household_id, building_id, name, doc_kind, id_number, id_rev, birth_date, sex, \
             phone, phone_rev, needs, created_at, updated_at)",
            14,
        );
        let mut addresses = Batch::new(
            self.backend(),
            "INSERT INTO resident_addresses (resident_id, household_id, from_at, to_at, reason)",
            5,
        );
        // The first round's rows: no sheet, so no cells; the row number is the resident's place in the register.
        let mut census_rows = Batch::new(
            self.backend(),
            "INSERT INTO census_rows (round_id, row_number, raw, outcome, resident_id, household_id, building_id, phone)",
            8,
        );
        let mut ids = IdAllocator::new();
        let mut report = SeedReport { compounds: 0, buildings: 0, households: 0, residents: 0, census_rounds: 0 };
        // Per round: its summary, written once its counts are known.
        let mut rounds: Vec<(i64, ImportSummary)> = Vec::new();
        let mut household_index: u64 = 0;
        for compound in &plan.compounds {
            let compound_id: i64 = sqlx::query_scalar(
                "INSERT INTO compounds (community_id, name, created_at) VALUES ($1, $2, $3) RETURNING id",
            )
            .bind(community)
            .bind(&compound.name)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            report.compounds += 1;
            // The whole compound (the scope's default); nothing to confirm: no round before it.
            // Only the columns of the census's first migration are named (the seeder also
            // fills databases of an earlier schema, for the migration tests).
            let round_id: i64 = sqlx::query_scalar(
                "INSERT INTO census_rounds (compound_id, name, file_name, source, committed_by, created_at, summary) \
                 VALUES ($1, $2, '', 'seed', $3, $4, '{}') RETURNING id",
            )
            .bind(compound_id)
            .bind(FIRST_ROUND)
            .bind(&actor.name)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            report.census_rounds += 1;
            let mut summary = ImportSummary {
                committed: true,
                round_id: Some(round_id),
                scope: Scope::Compound.code().to_string(),
                ..ImportSummary::default()
            };
            for b in &compound.buildings {
                let rows_before = summary.rows_read;
                let footprint = json!({
                    "type": "Polygon",
                    "coordinates": [b.footprint.iter().map(|p| vec![p[0], p[1]]).collect::<Vec<_>>()],
                });
                let bid = building_id;
                building_id += 1;
                report.buildings += 1;
                buildings.push([
                    V::I(bid),
                    V::I(compound_id),
                    V::I(i64::from(b.number)),
                    V::S(b.name.clone()),
                    V::I(i64::from(b.floors)),
                    V::S(footprint.to_string()),
                    V::I(now),
                ]);
                for u in &b.units {
                    let uid = unit_id;
                    unit_id += 1;
                    units.push([V::I(uid), V::I(bid), V::I(i64::from(u.number)), V::S(u.name.clone())]);
                    for h in &u.households {
                        let hid = household_id;
                        household_id += 1;
                        report.households += 1;
                        summary.households_created += 1;
                        households.push([
                            V::I(hid),
                            V::I(uid),
                            V::I(bid),
                            V::I(i64::from(h.floor)),
                            V::S(h.room.clone()),
                            V::I(now),
                        ]);
                        for person in synth::people(opts, household_index, h.size, &mut ids) {
                            let rid = resident_id;
                            resident_id += 1;
                            report.residents += 1;
                            summary.rows_read += 1;
                            summary.residents_created += 1;
                            let id = person.id_number.as_str().to_string();
                            let phone = person.phone.as_ref().map(|p| p.as_str().to_string());
                            residents.push([
                                V::I(rid),
                                V::I(hid),
                                V::I(bid),
                                V::S(person.name),
                                V::S("cn_id".to_string()),
                                V::S(id.clone()),
                                V::S(reversed(&id)),
                                V::S(person.id_number.birth_date().to_string()),
                                V::S(person.id_number.sex().code().to_string()),
                                V::OptS(phone.clone()),
                                V::OptS(phone.as_deref().map(reversed)),
                                V::I(person.needs.bits()),
                                V::I(now),
                                V::I(now),
                            ]);
                            census_rows.push([
                                V::I(round_id),
                                V::I(i64::try_from(summary.rows_read).unwrap_or(i64::MAX)),
                                V::S("[]".into()),
                                V::S("created".into()),
                                V::I(rid),
                                V::I(hid),
                                V::I(bid),
                                V::OptS(phone),
                            ]);
                            addresses.push([
                                V::I(rid),
                                V::OptI(Some(hid)),
                                V::I(now),
                                V::OptI(None),
                                V::S("seeded".into()),
                            ]);
                        }
                        household_index += 1;
                        let batches = [&buildings, &units, &households, &residents, &addresses, &census_rows];
                        if batches.iter().any(|b| b.full()) {
                            flush_all(
                                &mut tx,
                                [
                                    &mut buildings,
                                    &mut units,
                                    &mut households,
                                    &mut residents,
                                    &mut addresses,
                                    &mut census_rows,
                                ],
                            )
                            .await?;
                        }
                    }
                }
                if summary.rows_read > rows_before {
                    summary.sheet_buildings.push(b.name.clone());
                }
            }
            rounds.push((round_id, summary));
        }
        flush_all(
            &mut tx,
            [&mut buildings, &mut units, &mut households, &mut residents, &mut addresses, &mut census_rows],
        )
        .await?;
        for table in ["buildings", "units", "households", "residents"] {
            resync_identity(&mut tx, self.backend(), table).await?;
        }
        for (round_id, summary) in rounds {
            let json = serde_json::to_string(&summary).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            sqlx::query("UPDATE census_rounds SET summary = $1 WHERE id = $2")
                .bind(json)
                .bind(round_id)
                .execute(&mut *tx)
                .await?;
        }
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "district.seed",
                entity: "district",
                entity_id: Some(district.to_string()),
                before: None,
                after: Some(json!(report)),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(report)
    }
}
