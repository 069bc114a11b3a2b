//! The web side of minimum necessary: the reader's [`Disclosure`] (revealing
//! checks the permission and writes the audit entry first), the buildings a
//! reader's work reaches, and searches by number (allowed per role, only as
//! tails the mask shows anyway, and rate-limited per account).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use frontline_domain::privacy::{Disclosure, Reach};
use frontline_store::audit::Change;
use frontline_store::residents::{check_number_search, NumberSearchError, ResidentFilter, Tails};
use frontline_store::sampling::{Missed, MissedFilter};

use crate::auth::Auth;
use crate::error::AppError;
use crate::AppState;

/// What one reader may see of people: masked, or revealed and audited.
///
/// `action` and `entity` name the audit entry of a reveal (`resident.reveal`,
/// `resident`); a reader without the permission asking to reveal gets 403.
pub async fn disclosure(
    state: &AppState,
    auth: &Auth,
    reveal: bool,
    action: &'static str,
    entity: &'static str,
    entity_id: Option<String>,
) -> Result<Disclosure, AppError> {
    if !reveal {
        return Ok(Disclosure::masked(auth.user.role));
    }
    let who = Disclosure::revealed(auth.user.role).ok_or(AppError::Forbidden)?;
    let change = Change { action, entity, entity_id, before: None, after: None };
    state.store().record_access(&auth.actor(), change).await?;
    Ok(who)
}

/// The buildings a reader's work reaches among residents: `None` for the
/// whole district, otherwise the buildings of the account's team assignment
/// (none without a team or an assignment).
pub async fn reach(state: &AppState, auth: &Auth) -> Result<Option<Vec<i64>>, AppError> {
    match auth.user.role.reach() {
        Reach::District => Ok(None),
        Reach::Nothing => Ok(Some(vec![])),
        Reach::Assignment => match auth.user.team.as_deref() {
            Some(team) => Ok(Some(state.store().team_buildings(team).await?)),
            None => Ok(Some(vec![])),
        },
    }
}

/// Fails with 404 unless the reader's work reaches `building` (a resident
/// outside it is, for this reader, not there at all).
pub async fn require_reach(state: &AppState, auth: &Auth, building: Option<i64>) -> Result<(), AppError> {
    match reach(state, auth).await? {
        None => Ok(()),
        Some(ids) if building.is_some_and(|b| ids.contains(&b)) => Ok(()),
        Some(_) => Err(AppError::NotFound),
    }
}

/// A round's missed list as a reader may see it: a volunteer's is their
/// team's part (nothing without a team).
pub async fn missed_list(
    state: &AppState,
    auth: &Auth,
    round: i64,
    filter: MissedFilter,
) -> Result<Vec<Missed>, AppError> {
    let filter = match auth.user.role.reach() {
        Reach::District => filter,
        Reach::Nothing => return Ok(vec![]),
        Reach::Assignment => match &auth.user.team {
            Some(team) => MissedFilter { team: Some(team.clone()), ..filter },
            None => return Ok(vec![]),
        },
    };
    // The household's phone, masked, for readers whose view has phones only.
    let who = Disclosure::masked(auth.user.role);
    let mut missed = state.store().sampling_missed(round, &filter).await?;
    for m in &mut missed {
        m.phone = m.phone.take().and_then(|p| who.phone(&p));
    }
    Ok(missed)
}

/// The resident filter for a reader's list or search: narrowed to `within`
/// (the reader's [`reach`]), with number searches checked and counted.
pub fn resident_filter(
    state: &AppState,
    auth: &Auth,
    within: Option<Vec<i64>>,
    building: Option<i64>,
    household: Option<i64>,
    query: Option<String>,
) -> Result<ResidentFilter, AppError> {
    let who = Disclosure::masked(auth.user.role);
    let tails = Tails { phone: who.may_search_phone_tail(), id: who.may_search_id_tail() };
    let query = query.filter(|q| !q.trim().is_empty());
    if let Some(q) = &query {
        match check_number_search(q, tails) {
            Ok(false) => {}
            Ok(true) => state.number_searches().count(auth.user.id, state.config().number_searches_per_minute)?,
            Err(NumberSearchError::Length) => {
                let code = if tails.phone { "number_tail" } else { "id_tail" };
                return Err(AppError::field("q", code));
            }
            Err(NumberSearchError::NotAllowed) => return Err(AppError::field("q", "number_not_allowed")),
        }
    }
    Ok(ResidentFilter { building, household, query, within, tails })
}

/// Counts searches by number per account over a sliding minute: a search
/// tells whether some number ends in some digits, so an account gets a
/// handful a minute, enough for a phone call, too few to enumerate.
#[derive(Debug, Default)]
pub struct NumberSearches {
    seen: Mutex<HashMap<i64, VecDeque<Instant>>>,
}

const WINDOW: Duration = Duration::from_secs(60);

impl NumberSearches {
    /// Counts one search by `account`, or fails with 429 past `per_minute`.
    pub fn count(&self, account: i64, per_minute: u32) -> Result<(), AppError> {
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() > 10_000 {
            seen.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
        }
        let q = seen.entry(account).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
            q.pop_front();
        }
        if q.len() >= per_minute as usize {
            let oldest = q.front().copied().unwrap_or(now);
            let retry_after = WINDOW.saturating_sub(now.duration_since(oldest)).as_secs().max(1);
            return Err(AppError::TooManyRequests { retry_after });
        }
        q.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_searches_are_counted_per_account() {
        let n = NumberSearches::default();
        for _ in 0..3 {
            assert!(n.count(1, 3).is_ok());
        }
        assert!(matches!(n.count(1, 3), Err(AppError::TooManyRequests { .. })));
        assert!(n.count(2, 3).is_ok());
    }
}
