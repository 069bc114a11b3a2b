//! Matching census people to residents: one lookup per 2,000 documents, updates
//! only where the census says something new, new residents in bulk.

use frontline_domain::census::Doc;
use sqlx::AnyConnection;

use super::import::{doc_kind, doc_number, Ctx, Slot};
use crate::bulk::{Batch, V};
use crate::db::{json_rows_sql, param_list, reserve_ids, Backend};
use crate::error::StoreError;
use crate::residents::reversed;

/// Documents (or households) per lookup: one statement for a whole batch of rows.
const LOOKUP_CHUNK: usize = 2_000;

/// An existing resident, as far as matching needs.
pub(super) struct Existing {
    pub(super) id: i64,
    pub(super) household: Option<i64>,
    pub(super) phone: Option<String>,
    pub(super) needs: i64,
    pub(super) away: i64,
}

/// Residents found by their document number, or by the key of a person without one.
pub(super) type Found = crate::FastMap<String, Existing>;

/// Finds the residents named by `slots`: by document, unless `by_document` has
/// them already (looked up ahead of the writer, see [`DocumentReader`]), and by
/// name + birth date + household for people without a document.
pub(super) async fn find_existing(
    conn: &mut AnyConnection,
    backend: Backend,
    slots: &[Slot],
    by_document: Option<Found>,
) -> Result<Found, StoreError> {
    let mut out = match by_document {
        Some(found) => found,
        None => {
            let numbers: Vec<&str> = slots.iter().filter_map(|s| doc_number(&s.person)).collect();
            find_by_document(conn, backend, &numbers).await?
        }
    };
    find_without_document(conn, backend, slots, &mut out).await?;
    Ok(out)
}

async fn find_by_document(conn: &mut AnyConnection, backend: Backend, numbers: &[&str]) -> Result<Found, StoreError> {
    let mut out = Found::default();
    for chunk in numbers.chunks(LOOKUP_CHUNK) {
        // One row per chunk, not one per resident: each row crossing from the
        // database thread costs more than the lookup itself.
        let list = param_list(backend, chunk.len());
        let sql = json_rows_sql(
            backend,
            "id, id_number, household_id, phone, needs, away",
            &format!("FROM residents WHERE id_number IN ({list})"),
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql).persistent(chunk.len() == LOOKUP_CHUNK);
        for n in chunk {
            q = q.bind(*n);
        }
        let json = q.fetch_one(&mut *conn).await?;
        type Row = (i64, String, Option<i64>, Option<String>, i64, i64);
        let found: Vec<Row> = serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("lookup: {e}")))?;
        for (id, number, household, phone, needs, away) in found {
            out.insert(number, Existing { id, household, phone, needs, away });
        }
    }
    Ok(out)
}

/// On SQLite, residents are looked up by document on a read-only connection of
/// their own, on the thread that normalises the rows, a batch ahead of the
/// writer — the writer's connection then only writes. What it reads is what
/// the database held before the import: the import holds the write lock from
/// before the first lookup to its commit, so nobody else changes residents
/// meanwhile, and the residents the import itself creates or changes are never
/// looked up again (a person named a second time is a duplicate of the first,
/// found among the people already seen).
pub(super) struct DocumentReader {
    conn: rusqlite::Connection,
}

impl DocumentReader {
    pub(super) fn open(path: &std::path::Path) -> rusqlite::Result<DocumentReader> {
        use rusqlite::OpenFlags;
        let conn = rusqlite::Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
        )?;
        // A small page cache and no memory map: lookups are scattered over a million
        // residents, so neither helps much, and mapped pages would count against the
        // import's memory (measured: 500 MB peak with a 1 GiB map, 255 MB without).
        // One read transaction for the whole import (closed with the connection): each
        // statement on its own would take and release the file's locks and check its size.
        conn.execute_batch("PRAGMA busy_timeout = 5000; PRAGMA cache_size = -8192; BEGIN;")?;
        Ok(DocumentReader { conn })
    }

    /// The residents holding these document numbers.
    pub(super) fn find<'a>(&self, numbers: impl Iterator<Item = &'a str>) -> rusqlite::Result<Found> {
        let mut out = Found::default();
        let mut q = self
            .conn
            .prepare_cached("SELECT id, household_id, phone, needs, away FROM residents WHERE id_number = ?1")?;
        for n in numbers {
            let mut rows = q.query([n])?;
            if let Some(r) = rows.next()? {
                let e = Existing {
                    id: r.get(0)?,
                    household: r.get(1)?,
                    phone: r.get(2)?,
                    needs: r.get(3)?,
                    away: r.get(4)?,
                };
                out.insert(n.to_string(), e);
            }
        }
        Ok(out)
    }
}

async fn find_without_document(
    conn: &mut AnyConnection,
    backend: Backend,
    slots: &[Slot],
    out: &mut Found,
) -> Result<(), StoreError> {
    // People without a document: by name + birth date + household, one row per 2,000 households.
    let households: Vec<i64> = {
        let mut h: Vec<i64> = slots
            .iter()
            .filter(|s| matches!(s.person.document, Doc::None) && s.person.birth_date.is_some())
            .filter_map(|s| s.household)
            .collect();
        h.sort_unstable();
        h.dedup();
        h
    };
    for chunk in households.chunks(LOOKUP_CHUNK) {
        let list = param_list(backend, chunk.len());
        let sql = json_rows_sql(
            backend,
            "id, name, birth_date, household_id, phone, needs, away",
            &format!("FROM residents WHERE household_id IN ({list}) AND id_number IS NULL AND birth_date IS NOT NULL"),
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql).persistent(chunk.len() == LOOKUP_CHUNK);
        for h in chunk {
            q = q.bind(*h);
        }
        let json = q.fetch_one(&mut *conn).await?;
        type Row = (i64, String, String, i64, Option<String>, i64, i64);
        let found: Vec<Row> = serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("lookup: {e}")))?;
        for (id, name, birth, household, phone, needs, away) in found {
            // The same key the import gives a person without a document (the first one found wins).
            out.entry(format!("nm:{name}|{birth}|{household}")).or_insert(Existing {
                id,
                household: Some(household),
                phone,
                needs,
                away,
            });
        }
    }
    Ok(())
}

/// Updates a matched resident where the census says something new: a phone,
/// a need, being away, or another household. Elderly is derived from the birth
/// date and never stored, as for new residents.
pub(super) async fn update_matched(
    conn: &mut AnyConnection,
    ctx: &mut Ctx,
    s: &Slot,
    e: &Existing,
) -> Result<(), StoreError> {
    let phone = s.person.phone.as_ref().map(|p| p.as_str().to_string());
    let new_phone = phone.filter(|p| Some(p) != e.phone.as_ref());
    let needs = e.needs | stored_needs(s.person.needs.bits());
    let away = i64::from(s.person.away);
    let moved = s.household.is_some() && s.household != e.household;
    if new_phone.is_none() && needs == e.needs && away == e.away && !moved {
        return Ok(());
    }
    if new_phone.is_some() {
        ctx.phones_changed += 1;
    }
    let (household, building) = if moved { (s.household, s.building) } else { (e.household, None) };
    sqlx::query(
        "UPDATE residents SET phone = COALESCE($1, phone), phone_rev = COALESCE($2, phone_rev), needs = $3, away = $4, \
         household_id = $5, building_id = COALESCE($6, building_id), updated_at = $7 WHERE id = $8",
    )
    .bind(new_phone.as_deref())
    .bind(new_phone.as_deref().map(reversed))
    .bind(needs)
    .bind(away)
    .bind(household)
    .bind(building)
    .bind(ctx.now)
    .bind(e.id)
    .execute(&mut *conn)
    .await?;
    if moved {
        ctx.summary.residents_moved += 1;
        sqlx::query("UPDATE resident_addresses SET to_at = $1 WHERE resident_id = $2 AND to_at IS NULL")
            .bind(ctx.now)
            .bind(e.id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("INSERT INTO resident_addresses (resident_id, household_id, from_at, to_at, reason) VALUES ($1, $2, $3, NULL, $4)")
            .bind(e.id)
            .bind(s.household)
            .bind(ctx.now)
            .bind(format!("census:{}", ctx.round_id))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The needs a resident row stores: what the census says, less what is derived (elderly).
fn stored_needs(bits: i64) -> i64 {
    bits & !frontline_domain::people::SpecialNeed::Elderly.bit()
}

pub(super) async fn insert_new(
    conn: &mut AnyConnection,
    ctx: &mut Ctx,
    unique: &mut [Slot],
    new_people: &[usize],
) -> Result<(), StoreError> {
    let ids = reserve_ids(conn, ctx.backend, "residents", new_people.len()).await?;
    let mut residents = Batch::new(
        ctx.backend,
        "INSERT INTO residents (id, household_id, building_id, name, doc_kind, id_number, id_rev, birth_date, sex, \
         phone, phone_rev, needs, away, created_at, updated_at)",
        15,
    );
    let mut addresses = Batch::new(
        ctx.backend,
        "INSERT INTO resident_addresses (resident_id, household_id, from_at, to_at, reason)",
        5,
    );
    for (&i, id) in new_people.iter().zip(ids) {
        let s = &mut unique[i];
        s.resident = Some(id);
        s.created = true;
        ctx.summary.residents_created += 1;
        let p = &s.person;
        let number = doc_number(p).map(str::to_string);
        let phone = p.phone.as_ref().map(|x| x.as_str().to_string());
        residents.push([
            V::I(id),
            V::OptI(s.household),
            V::OptI(s.building.filter(|_| s.household.is_some())),
            V::S(p.name.clone()),
            V::S(doc_kind(p).into()),
            V::OptS(number.clone()),
            V::OptS(number.as_deref().map(reversed)),
            V::OptS(p.birth_date.map(|d| d.to_string())),
            V::OptS(p.sex.map(|x| x.code().to_string())),
            V::OptS(phone.clone()),
            V::OptS(phone.as_deref().map(reversed)),
            V::I(stored_needs(p.needs.bits())),
            V::I(i64::from(p.away)),
            V::I(ctx.now),
            V::I(ctx.now),
        ]);
        if s.household.is_some() {
            addresses.push([
                V::I(id),
                V::OptI(s.household),
                V::I(ctx.now),
                V::OptI(None),
                V::S(format!("census:{}", ctx.round_id)),
            ]);
        }
        if residents.full() {
            residents.flush(conn).await?;
        }
        if addresses.full() {
            residents.flush(conn).await?;
            addresses.flush(conn).await?;
        }
    }
    residents.flush(conn).await?;
    addresses.flush(conn).await?;
    Ok(())
}
