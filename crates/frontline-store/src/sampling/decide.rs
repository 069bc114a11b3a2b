//! Deciding a group of scans in memory, in arrival order, against what the
//! database knew when the group began (its [`Facts`]); the outcome is each
//! scan's status and the rows to write ([`Writes`]). Both writers — sqlx's on
//! either backend and the dedicated SQLite thread — gather facts and write
//! rows their own way, and share this.

use std::collections::BTreeMap;

use frontline_domain::sampling::{check_add_member, ScanRefusal, TubeAction, TubeCode, TubeCodeError, TubeState};

use serde_json::json;

use super::writer::Submitter;
use crate::audit::Actor;
use crate::sampling::Scan;
use crate::{FastMap as Map, FastSet as Set};

/// One caller's batch within a group: who sent it and how many of the group's
/// scans (the next `len`, in order) are theirs.
pub(crate) struct Part<'a> {
    pub(crate) by: &'a Submitter,
    pub(crate) len: usize,
}

/// The audit log's action for a batch of scans.
pub(crate) const SCAN_BATCH_ACTION: &str = "sampling.scan_batch";
/// The kind of entity a batch of scans is recorded against (its round).
pub(crate) const SCAN_BATCH_ENTITY: &str = "sampling_round";

/// A batch's entry in the audit log, written with the group's rows.
pub(crate) struct AuditRow {
    pub(crate) actor: Actor,
    /// The round, when all the batch's scans are of one round.
    pub(crate) entity_id: Option<String>,
    /// The scans (key, round, tube, resident id, time, status), as JSON.
    pub(crate) after: String,
}

/// How full a scan's tube is once the scan is decided: what the sampler's
/// page shows ("7/10") and how it knows to ask for a new tube.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TubeFill {
    /// People in the tube.
    pub members: i64,
    /// How many it takes.
    pub pool_size: i64,
    /// Whether it is sealed (full, or closed early): no one more goes in.
    pub sealed: bool,
}

/// What one scan came to: its status, and its tube's fill when the tube is
/// one of the scan's round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanOutcome {
    /// `accepted`, `duplicate` or a refusal code.
    pub status: &'static str,
    /// The tube's fill after the scan.
    pub tube: Option<TubeFill>,
}

/// The status of a scan that put its resident into a tube.
pub(crate) const ACCEPTED: &str = "accepted";

/// A round as scans need it.
pub(crate) struct Round {
    pub(crate) pool_size: i64,
    pub(crate) open: bool,
}

/// A resident as a scan in one round needs them.
pub(crate) struct Resident {
    pub(crate) building: Option<i64>,
    pub(crate) in_scope: bool,
}

/// A tube, as found or as opened by this group.
pub(crate) struct Tube {
    pub(crate) id: i64,
    pub(crate) round: i64,
    pub(crate) pool_size: i64,
    pub(crate) members: i64,
    pub(crate) sealed: bool,
    pub(crate) sealed_at: Option<i64>,
    pub(crate) touched: bool,
    /// Who opened it (tubes this group opens).
    pub(crate) sampler: String,
    /// The account that opened it (tubes this group opens).
    pub(crate) opened_by: Option<i64>,
}

impl Tube {
    /// A tube read from the database.
    pub(crate) fn found(id: i64, round: i64, pool_size: i64, members: i64, sealed: bool) -> Tube {
        Tube {
            id,
            round,
            pool_size,
            members,
            sealed,
            sealed_at: None,
            touched: false,
            sampler: String::new(),
            opened_by: None,
        }
    }
}

/// What the database knows about a group's keys, rounds, residents and tubes.
#[derive(Default)]
pub(crate) struct Facts {
    /// Keys already recorded, by (account, key), with the status their scan had (see [`interned`]).
    pub(crate) seen: Map<(i64, String), &'static str>,
    pub(crate) rounds: Map<i64, Round>,
    /// By (round, resident).
    pub(crate) residents: Map<(i64, i64), Resident>,
    /// (round, resident) → the tube they are in.
    pub(crate) members: Map<(i64, i64), i64>,
    /// By code.
    pub(crate) tubes: Map<String, Tube>,
    /// Ids for the tubes this group opens.
    pub(crate) fresh_ids: Vec<i64>,
}

/// A tube to insert or update.
pub(crate) struct TubeRow {
    pub(crate) id: i64,
    pub(crate) round: i64,
    pub(crate) code: String,
    pub(crate) pool_size: i64,
    pub(crate) members: i64,
    pub(crate) sealed: bool,
    pub(crate) sealed_at: Option<i64>,
    pub(crate) sampler: String,
    pub(crate) opened_by: Option<i64>,
}

/// A member to insert.
pub(crate) struct MemberRow {
    pub(crate) round: i64,
    pub(crate) tube: i64,
    pub(crate) resident: i64,
    pub(crate) building: Option<i64>,
    pub(crate) at: i64,
}

/// The rows a group writes.
#[derive(Default)]
pub(crate) struct Writes {
    /// Tubes opened or changed (upserted by id).
    pub(crate) tubes: Vec<TubeRow>,
    pub(crate) members: Vec<MemberRow>,
    /// (account, key, status) of every new key.
    pub(crate) keys: Vec<(i64, String, &'static str)>,
    /// One entry per batch.
    pub(crate) audit: Vec<AuditRow>,
}

impl Writes {
    /// How many members the group adds to each (round, building)'s sampled count.
    pub(crate) fn building_counts(&self) -> BTreeMap<(i64, i64), i64> {
        count_by_building(self.members.iter().map(|m| (m.round, m.building)))
    }
}

/// How many of `members` (round, building) fall in each (round, building), in
/// a fixed order. Members in scope are in a building; any other is not counted.
pub(crate) fn count_by_building(members: impl IntoIterator<Item = (i64, Option<i64>)>) -> BTreeMap<(i64, i64), i64> {
    let mut counts = BTreeMap::new();
    for (round, building) in members {
        if let Some(building) = building {
            *counts.entry((round, building)).or_default() += 1;
        }
    }
    counts
}

/// Deduplicates, keeping the first occurrence's order.
pub(crate) fn dedup<T: Clone + Eq + std::hash::Hash>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut seen = Set::default();
    items.filter(|i| seen.insert(i.clone())).collect()
}

/// Each scan's tube code, parsed once (`None` when malformed). The scan
/// writer's callers parse them before queueing, on their own threads.
pub(crate) fn parse_codes(scans: &[Scan]) -> Vec<Option<TubeCode>> {
    scans.iter().map(|s| TubeCode::parse(&s.tube).ok()).collect()
}

/// The tube codes of a group that parse, deduplicated.
pub(crate) fn tube_codes(codes: &[Option<TubeCode>]) -> Vec<String> {
    dedup(codes.iter().flatten().map(|c| c.as_str().to_string()))
}

/// How many tubes the group may open: codes not found in the database.
pub(crate) fn new_tube_count(codes: &[String], facts: &Facts) -> usize {
    codes.iter().filter(|c| !facts.tubes.contains_key(*c)).count()
}

/// Each scan's submitter, in order: `parts` expanded.
pub(crate) fn submitters<'a>(parts: &'a [Part<'a>]) -> impl Iterator<Item = &'a Submitter> + 'a {
    parts.iter().flat_map(|p| std::iter::repeat_n(p.by, p.len))
}

/// Decides every scan in order; `parts` say who sent which (in order), `codes[i]` is `scans[i]`'s tube code.
pub(crate) fn decide_all(
    scans: &[Scan],
    codes: &[Option<TubeCode>],
    parts: &[Part<'_>],
    mut facts: Facts,
) -> (Vec<ScanOutcome>, Writes) {
    let mut writes = Writes::default();
    let mut fresh = std::mem::take(&mut facts.fresh_ids).into_iter();
    // Each (account, key)'s first outcome in this group, for a key sent twice in it.
    let mut batch_keys: Map<(i64, &str), &'static str> = Map::default();
    let mut out = Vec::with_capacity(scans.len());
    let mut seen_key = (0, String::new());
    for ((scan, by), code) in scans.iter().zip(submitters(parts)).zip(codes) {
        let account = by.account();
        seen_key.0 = account;
        seen_key.1.clone_from(&scan.key);
        let fill = |facts: &Facts| {
            let t = facts.tubes.get(code.as_ref()?.as_str()).filter(|t| t.round == scan.round)?;
            Some(TubeFill { members: t.members, pool_size: t.pool_size, sealed: t.sealed })
        };
        if let Some(first) = facts.seen.get(&seen_key).or_else(|| batch_keys.get(&(account, scan.key.as_str()))) {
            out.push(ScanOutcome { status: replayed(first), tube: fill(&facts) });
            continue;
        }
        let status = decide(scan, by, code.as_ref(), &mut facts, &mut fresh, &mut writes.members);
        batch_keys.insert((account, scan.key.as_str()), status);
        writes.keys.push((account, scan.key.clone(), status));
        out.push(ScanOutcome { status, tube: fill(&facts) });
    }
    let statuses: Vec<&'static str> = out.iter().map(|o| o.status).collect();
    writes.audit = audit_rows(scans, parts, &statuses);
    for (code, t) in facts.tubes.into_iter().filter(|(_, t)| t.touched) {
        writes.tubes.push(TubeRow {
            id: t.id,
            round: t.round,
            code,
            pool_size: t.pool_size,
            members: t.members,
            sealed: t.sealed,
            sealed_at: t.sealed_at,
            sampler: t.sampler,
            opened_by: t.opened_by,
        });
    }
    (out, writes)
}

/// One audit entry per batch: who sent it (account, name, address, from the
/// batch's [`Submitter`]) and each scan's key, round, tube, resident id, time
/// and status. Nothing else of the resident: no name, ID number or phone.
fn audit_rows(scans: &[Scan], parts: &[Part<'_>], statuses: &[&'static str]) -> Vec<AuditRow> {
    let mut rows = Vec::with_capacity(parts.len());
    let mut start = 0;
    for part in parts {
        let end = start + part.len;
        let (mine, status) = (&scans[start..end], &statuses[start..end]);
        start = end;
        let Some(first) = mine.first() else { continue };
        let one_round = mine.iter().all(|s| s.round == first.round);
        let items: Vec<_> = mine
            .iter()
            .zip(status)
            .map(|(s, st)| {
                json!({"key": s.key, "round": s.round, "tube": s.tube, "resident": s.resident, "at": s.at, "status": st})
            })
            .collect();
        let mut after = json!({"count": mine.len(), "scans": items});
        if let Some(buildings) = &part.by.buildings {
            let mut b: Vec<i64> = buildings.iter().copied().collect();
            b.sort_unstable();
            after["assignment"] = json!(b);
        }
        rows.push(AuditRow {
            actor: part.by.actor.clone(),
            entity_id: one_round.then(|| first.round.to_string()),
            after: after.to_string(),
        });
    }
    rows
}

/// What a replayed key answers: `duplicate` when its scan was accepted, and
/// otherwise the scan's own refusal — a phone that lost the first answer
/// learns that the person is not in a tube, not that the scan "went through".
/// Nothing is written either way.
fn replayed(first: &'static str) -> &'static str {
    if first == ACCEPTED {
        "duplicate"
    } else {
        first
    }
}

/// A status read back from the keys table, as the writer's own constant
/// (`duplicate` for a text it never writes).
pub(crate) fn interned(status: &str) -> &'static str {
    ScanRefusal::ALL.iter().map(|r| r.code()).chain(OTHER_SCAN_STATUSES).find(|c| *c == status).unwrap_or("duplicate")
}

/// Every status a scan can be answered with besides the domain's refusals
/// ([`ScanRefusal`]): the writers' own, and the refusals callers attach to a
/// scan before it reaches them (a code that does not parse, an ID-number tail
/// and name that match nobody).
pub const OTHER_SCAN_STATUSES: [&str; 11] = [
    ACCEPTED,
    "duplicate",
    "unknown_round",
    "malformed_tube",
    "code_in_tube_field",
    "malformed_code",
    "tail_not_found",
    "internal",
    // Home retests' own refusals (see `Store::bind_retests`).
    "no_retest_due",
    "retest_already_taken",
    "retest_tube_in_use",
];

/// Why a tube field did not read as a tube: a resident's code scanned there
/// (the sampler scanned the person before the tube) is told apart. Parsed
/// again only on this failure path.
pub(crate) fn unreadable_tube(tube: &str) -> &'static str {
    match TubeCode::parse(tube) {
        Err(TubeCodeError::IsResidentCode) => "code_in_tube_field",
        _ => "malformed_tube",
    }
}

fn decide(
    scan: &Scan,
    by: &Submitter,
    code: Option<&TubeCode>,
    facts: &mut Facts,
    fresh_ids: &mut impl Iterator<Item = i64>,
    new_members: &mut Vec<MemberRow>,
) -> &'static str {
    if let Some(refusal) = scan.refusal {
        return refusal;
    }
    let Some(round) = facts.rounds.get(&scan.round) else { return "unknown_round" };
    if !round.open {
        return ScanRefusal::RoundClosed.code();
    }
    let Some(code) = code else { return unreadable_tube(&scan.tube) };
    let Some(resident) = scan.resident else { return ScanRefusal::UnknownCode.code() };
    let Some(person) = facts.residents.get(&(scan.round, resident)) else { return ScanRefusal::UnknownCode.code() };
    if !person.in_scope {
        return ScanRefusal::OutOfScope.code();
    }
    let building = person.building;
    if let Some(assigned) = &by.buildings {
        if !building.is_some_and(|b| assigned.contains(&b)) {
            return ScanRefusal::OutsideAssignment.code();
        }
    }
    let tube = facts.tubes.get(code.as_str());
    if let Some(in_tube) = facts.members.get(&(scan.round, resident)) {
        return if tube.is_some_and(|t| t.id == *in_tube) {
            "duplicate"
        } else {
            ScanRefusal::AlreadyInAnotherTube.code()
        };
    }
    let state = tube.map(|t| TubeState {
        round: t.round,
        pool_size: u32::try_from(t.pool_size).unwrap_or(1),
        members: u32::try_from(t.members).unwrap_or(u32::MAX),
        sealed: t.sealed,
    });
    let action = match check_add_member(state.as_ref(), scan.round, u32::try_from(round.pool_size).unwrap_or(10)) {
        Ok(a) => a,
        Err(refusal) => return refusal.code(),
    };
    let tube_id = match action {
        TubeAction::Open { now_full } => {
            let Some(id) = fresh_ids.next() else { return "internal" };
            facts.tubes.insert(
                code.as_str().to_string(),
                Tube {
                    id,
                    round: scan.round,
                    pool_size: round.pool_size,
                    members: 1,
                    sealed: now_full,
                    sealed_at: now_full.then_some(scan.at),
                    touched: true,
                    sampler: by.actor.name.clone(),
                    opened_by: by.actor.user_id,
                },
            );
            id
        }
        TubeAction::Add { now_full } => {
            let Some(t) = facts.tubes.get_mut(code.as_str()) else { return ScanRefusal::UnknownCode.code() };
            t.members += 1;
            t.touched = true;
            if now_full {
                t.sealed = true;
                t.sealed_at = Some(scan.at);
            }
            t.id
        }
    };
    facts.members.insert((scan.round, resident), tube_id);
    new_members.push(MemberRow { round: scan.round, tube: tube_id, resident, building, at: scan.at });
    ACCEPTED
}
