//! Residents: one row per person, the ID number unique where present, with an
//! address history that is appended to, never rewritten.

use frontline_domain::ids::{IdNumber, PassportNumber, Phone};
use frontline_domain::people::SpecialNeeds;
use serde::Serialize;
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::audit::{self, escape_like, Actor, Change};
use crate::db::{rows_by_ids, Store};
use crate::error::StoreError;
use crate::now_ms;
use crate::page::{self, Page};
use crate::search::{classify, AddressSearch, Search};

/// A resident as stored, with full personal data. The web layer masks it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Resident {
    /// The surrogate id.
    pub id: i64,
    /// The household, when the address is known.
    pub household_id: Option<i64>,
    /// The building (kept in step with the household, for per-building counts).
    pub building_id: Option<i64>,
    /// The name.
    pub name: String,
    /// `cn_id` (GB 11643), `passport`, or `none`.
    pub doc_kind: String,
    /// The document number (ID number or passport number).
    pub id_number: Option<String>,
    /// Birth date `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    /// `male` or `female`.
    pub sex: Option<String>,
    /// The mobile number.
    pub phone: Option<String>,
    /// Special-needs mask (see [`SpecialNeeds`]).
    pub needs: i64,
    /// The address, when there is a household.
    pub address: Option<Address>,
    /// When it was created (unix ms).
    pub created_at: i64,
    /// When it last changed (unix ms).
    pub updated_at: i64,
}

/// A resident's address, from compound down to room.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Address {
    /// Compound name.
    pub compound: String,
    /// Building name.
    pub building: String,
    /// Unit name.
    pub unit: String,
    /// Room.
    pub room: String,
}

/// A person's identity document, already parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    /// A Chinese resident ID number.
    CnId(IdNumber),
    /// A passport or other travel document.
    Passport(PassportNumber),
    /// No document (an infant, say).
    None,
}

impl Document {
    fn kind(&self) -> &'static str {
        match self {
            Document::CnId(_) => "cn_id",
            Document::Passport(_) => "passport",
            Document::None => "none",
        }
    }

    fn number(&self) -> Option<&str> {
        match self {
            Document::CnId(id) => Some(id.as_str()),
            Document::Passport(p) => Some(p.as_str()),
            Document::None => None,
        }
    }
}

/// A new resident, every field already parsed into its domain type.
#[derive(Debug, Clone)]
pub struct NewResident {
    /// The name, cleaned.
    pub name: String,
    /// The identity document.
    pub document: Document,
    /// Birth date `YYYY-MM-DD` when not derived from the ID number.
    pub birth_date: Option<String>,
    /// `male` / `female` when not derived from the ID number.
    pub sex: Option<String>,
    /// The mobile number.
    pub phone: Option<Phone>,
    /// The household.
    pub household_id: Option<i64>,
    /// Special needs.
    pub needs: SpecialNeeds,
}

/// A change to a resident: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ResidentPatch {
    /// A new name.
    pub name: Option<String>,
    /// A new document.
    pub document: Option<Document>,
    /// A new phone; `Some(None)` removes it.
    pub phone: Option<Option<Phone>>,
    /// A move to another household (recorded in the address history).
    pub household_id: Option<i64>,
    /// New special needs.
    pub needs: Option<SpecialNeeds>,
}

/// How to narrow a resident list.
#[derive(Debug, Clone, Default)]
pub struct ResidentFilter {
    /// Only this building.
    pub building: Option<i64>,
    /// Only this household.
    pub household: Option<i64>,
    /// Free search: a name (prefix), a phone or ID tail (digits), or an address like `3-1-1302`.
    pub query: Option<String>,
    /// Only residents of these buildings (a volunteer's assignment); `None`: anywhere.
    pub within: Option<Vec<i64>>,
    /// Which number tails a digit search may match (none by default).
    pub tails: Tails,
}

/// Which number tails a digit search may match: each is allowed only to
/// readers who see that number (masked), and only as long as the mask shows,
/// so a search never tells more than the mask does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tails {
    /// The last 4 digits of a phone.
    pub phone: bool,
    /// The last 4 to 6 characters of an ID number.
    pub id: bool,
}

/// Why a search by number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberSearchError {
    /// Numbers are searched by their last 4 (phone) or 4–6 (ID number) characters only.
    Length,
    /// This reader may not search by numbers.
    NotAllowed,
}

/// Whether `query` searches by a number, and if so whether `tails` allows it:
/// `Ok(true)` for an allowed number search, `Ok(false)` for a name or address.
pub fn check_number_search(query: &str, tails: Tails) -> Result<bool, NumberSearchError> {
    let Some(Search::Digits(d)) = classify(query) else { return Ok(false) };
    if !tails.phone && !tails.id {
        return Err(NumberSearchError::NotAllowed);
    }
    let phone = tails.phone && d.len() == 4 && d.bytes().all(|b| b.is_ascii_digit());
    let id = tails.id && (4..=6).contains(&d.len());
    if phone || id {
        Ok(true)
    } else {
        Err(NumberSearchError::Length)
    }
}

const RESIDENT_SELECT: &str = "SELECT r.id, r.household_id, r.building_id, r.name, r.doc_kind, r.id_number, \
    r.birth_date, r.sex, r.phone, r.needs, r.created_at, r.updated_at, \
    c.name AS a_compound, b.name AS a_building, u.name AS a_unit, h.room AS a_room \
    FROM residents r LEFT JOIN households h ON h.id = r.household_id \
    LEFT JOIN units u ON u.id = h.unit_id LEFT JOIN buildings b ON b.id = h.building_id \
    LEFT JOIN compounds c ON c.id = b.compound_id";

fn resident(row: &AnyRow) -> Result<Resident, sqlx::Error> {
    let room: Option<String> = row.try_get("a_room")?;
    let address = match room {
        Some(room) => Some(Address {
            compound: row.try_get("a_compound")?,
            building: row.try_get("a_building")?,
            unit: row.try_get("a_unit")?,
            room,
        }),
        None => None,
    };
    Ok(Resident {
        id: row.try_get("id")?,
        household_id: row.try_get("household_id")?,
        building_id: row.try_get("building_id")?,
        name: row.try_get("name")?,
        doc_kind: row.try_get("doc_kind")?,
        id_number: row.try_get("id_number")?,
        birth_date: row.try_get("birth_date")?,
        sex: row.try_get("sex")?,
        phone: row.try_get("phone")?,
        needs: row.try_get("needs")?,
        address,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Reverses a string, so that "ends with" becomes an indexed prefix range.
pub fn reversed(s: &str) -> String {
    s.chars().rev().collect()
}

impl Store {
    /// Lists residents by id, narrowed by building, household or a search.
    pub async fn list_residents(
        &self,
        filter: &ResidentFilter,
        after: Option<i64>,
        limit: i64,
    ) -> Result<Page<Resident>, StoreError> {
        let search = filter.query.as_deref().and_then(classify);
        let (mut phone_rev, mut id_rev, mut name_prefix, mut address) = (None, None, None, AddressSearch::default());
        match search {
            Some(Search::Digits(d)) => {
                match check_number_search(&d, filter.tails) {
                    Ok(true) => {}
                    // Refused searches find nobody (the web layer answers them with an error first).
                    _ => return Ok(Page { items: vec![], next: None }),
                }
                if filter.tails.phone && d.len() == 4 {
                    phone_rev = Some(reversed(&d));
                }
                if filter.tails.id {
                    id_rev = Some(reversed(&d));
                }
            }
            Some(Search::Name(n)) => name_prefix = Some(format!("{}%", escape_like(&n))),
            Some(Search::Address(a)) => address = a,
            None => {}
        }
        let range_end = |p: &Option<String>| p.as_ref().map(|p| format!("{p}~"));
        let (phone_end, id_end) = (range_end(&phone_rev), range_end(&id_rev));
        // Building ids come from the database as integers: safe to inline.
        let within = match &filter.within {
            None => String::new(),
            Some(ids) if ids.is_empty() => " AND 1 = 0".to_string(),
            Some(ids) => {
                format!(" AND r.building_id IN ({})", ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","))
            }
        };
        let sql = format!(
            "{RESIDENT_SELECT} WHERE ($1 IS NULL OR r.building_id = $1) AND ($2 IS NULL OR r.household_id = $2) \
             AND ($3 IS NULL OR r.id > $3) \
             AND (($4 IS NULL AND $11 IS NULL) OR (r.phone_rev >= $4 AND r.phone_rev < $5) \
                  OR (r.id_rev >= $11 AND r.id_rev < $12)) \
             AND ($6 IS NULL OR r.name LIKE $6 ESCAPE '\\') \
             AND ($7 IS NULL OR b.name = $7) AND ($8 IS NULL OR u.name = $8) AND ($9 IS NULL OR h.room = $9) \
             AND ($13 IS NULL OR c.name LIKE $13 ESCAPE '\\'){within} \
             ORDER BY r.id LIMIT $10"
        );
        let compound_like = address.compound.as_ref().map(|c| format!("%{}%", escape_like(c)));
        let rows = sqlx::query(&sql)
            .bind(filter.building)
            .bind(filter.household)
            .bind(after)
            .bind(phone_rev)
            .bind(phone_end)
            .bind(name_prefix)
            .bind(address.building)
            .bind(address.unit)
            .bind(address.room)
            .bind(limit + 1)
            .bind(id_rev)
            .bind(id_end)
            .bind(compound_like)
            .fetch_all(&self.pool)
            .await?;
        let items = rows.iter().map(resident).collect::<Result<Vec<_>, _>>()?;
        Ok(page::from_rows(items, limit, |r| r.id.to_string()))
    }

    /// One resident.
    pub async fn get_resident(&self, id: i64) -> Result<Resident, StoreError> {
        fetch_resident(&mut *self.pool.acquire().await?, id).await
    }

    /// Residents by id, as [`Store::get_resident`] has each, in one query per
    /// 1,000 distinct ids (under both backends' bind-parameter limits); ordered
    /// by id, and an id that names no one is left out.
    pub async fn get_residents(&self, ids: &[i64]) -> Result<Vec<Resident>, StoreError> {
        let sql = format!("{RESIDENT_SELECT} WHERE r.id IN ({{ids}}) ORDER BY r.id");
        rows_by_ids(&self.pool, self.backend(), &sql, ids).await?.iter().map(|r| Ok(resident(r)?)).collect()
    }

    /// Every resident of a building, by household (for the building page).
    pub async fn building_residents(&self, building: i64) -> Result<Vec<Resident>, StoreError> {
        let sql = format!("{RESIDENT_SELECT} WHERE r.building_id = $1 ORDER BY r.household_id, r.id");
        let rows = sqlx::query(&sql).bind(building).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(resident).collect::<Result<Vec<_>, _>>()?)
    }

    /// Creates a resident and opens their address history.
    pub async fn create_resident(&self, actor: &Actor, new: &NewResident) -> Result<Resident, StoreError> {
        let mut tx = self.pool.begin().await?;
        let building = household_building(&mut tx, new.household_id).await?;
        let (birth, sex) = match &new.document {
            Document::CnId(id) => (Some(id.birth_date().to_string()), Some(id.sex().code().to_string())),
            _ => (new.birth_date.clone(), new.sex.clone()),
        };
        let now = now_ms();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO residents (household_id, building_id, name, doc_kind, id_number, id_rev, birth_date, sex, \
             phone, phone_rev, needs, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
        )
        .bind(new.household_id)
        .bind(building)
        .bind(&new.name)
        .bind(new.document.kind())
        .bind(new.document.number())
        .bind(new.document.number().map(reversed))
        .bind(birth)
        .bind(sex)
        .bind(new.phone.as_ref().map(Phone::as_str))
        .bind(new.phone.as_ref().map(|p| reversed(p.as_str())))
        .bind(new.needs.bits())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        if new.household_id.is_some() {
            open_address(&mut tx, id, new.household_id, now, "created").await?;
        }
        let created = fetch_resident(&mut tx, id).await?;
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "resident.create",
                entity: "resident",
                entity_id: Some(id.to_string()),
                before: None,
                after: Some(json!(created)),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Applies a patch to a resident; a household change closes the old address and opens a new one.
    pub async fn update_resident(&self, actor: &Actor, id: i64, patch: &ResidentPatch) -> Result<Resident, StoreError> {
        let mut tx = self.pool.begin().await?;
        let before = fetch_resident(&mut tx, id).await?;
        let now = now_ms();
        if let Some(name) = &patch.name {
            sqlx::query("UPDATE residents SET name = $1 WHERE id = $2").bind(name).bind(id).execute(&mut *tx).await?;
        }
        if let Some(doc) = &patch.document {
            let (birth, sex) = match doc {
                Document::CnId(n) => (Some(n.birth_date().to_string()), Some(n.sex().code().to_string())),
                _ => (before.birth_date.clone(), before.sex.clone()),
            };
            sqlx::query("UPDATE residents SET doc_kind = $1, id_number = $2, id_rev = $3, birth_date = $4, sex = $5 WHERE id = $6")
                .bind(doc.kind())
                .bind(doc.number())
                .bind(doc.number().map(reversed))
                .bind(birth)
                .bind(sex)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(phone) = &patch.phone {
            sqlx::query("UPDATE residents SET phone = $1, phone_rev = $2 WHERE id = $3")
                .bind(phone.as_ref().map(Phone::as_str))
                .bind(phone.as_ref().map(|p| reversed(p.as_str())))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(needs) = patch.needs {
            sqlx::query("UPDATE residents SET needs = $1 WHERE id = $2")
                .bind(needs.bits())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(household) = patch.household_id {
            if Some(household) != before.household_id {
                let building = household_building(&mut tx, Some(household)).await?;
                sqlx::query("UPDATE residents SET household_id = $1, building_id = $2 WHERE id = $3")
                    .bind(household)
                    .bind(building)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE resident_addresses SET to_at = $1 WHERE resident_id = $2 AND to_at IS NULL")
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                open_address(&mut tx, id, Some(household), now, "moved").await?;
            }
        }
        sqlx::query("UPDATE residents SET updated_at = $1 WHERE id = $2").bind(now).bind(id).execute(&mut *tx).await?;
        let after = fetch_resident(&mut tx, id).await?;
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "resident.update",
                entity: "resident",
                entity_id: Some(id.to_string()),
                before: Some(json!(before)),
                after: Some(json!(after)),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// A resident's households over time, newest first: `(household_id, from, to)`.
    pub async fn address_history(&self, id: i64) -> Result<Vec<(Option<i64>, i64, Option<i64>)>, StoreError> {
        let rows: Vec<(Option<i64>, i64, Option<i64>)> = sqlx::query_as(
            "SELECT household_id, from_at, to_at FROM resident_addresses WHERE resident_id = $1 ORDER BY from_at DESC, id DESC",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }
}

async fn fetch_resident(conn: &mut AnyConnection, id: i64) -> Result<Resident, StoreError> {
    let sql = format!("{RESIDENT_SELECT} WHERE r.id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(conn).await?.ok_or(StoreError::NotFound)?;
    Ok(resident(&row)?)
}

async fn household_building(conn: &mut AnyConnection, household: Option<i64>) -> Result<Option<i64>, StoreError> {
    match household {
        None => Ok(None),
        Some(h) => sqlx::query_scalar("SELECT building_id FROM households WHERE id = $1")
            .bind(h)
            .fetch_optional(conn)
            .await?
            .map(Some)
            .ok_or(StoreError::MissingReference),
    }
}

async fn open_address(
    conn: &mut AnyConnection,
    resident: i64,
    household: Option<i64>,
    at: i64,
    reason: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO resident_addresses (resident_id, household_id, from_at, to_at, reason) VALUES ($1, $2, $3, NULL, $4)")
        .bind(resident)
        .bind(household)
        .bind(at)
        .bind(reason)
        .execute(conn)
        .await?;
    Ok(())
}
