//! What the API and the pages show of stored rows: personal data masked unless
//! revealed, derived needs (age) added, the sampling code computed.

use frontline_domain::date::Date;
use frontline_domain::ids::SamplingCode;
use frontline_domain::people::{SpecialNeed, SpecialNeeds};
use frontline_domain::privacy::Disclosure;
use frontline_store::accounts::{Group, User};
use frontline_store::audit::AuditEntry;
use frontline_store::now_ms;
use frontline_store::places::{BuildingSummary, Household, ZoneDecision};
use frontline_store::residents::Resident;
use serde::Serialize;
use utoipa::ToSchema;

use crate::config::Rules;

/// A building in lists.
#[derive(Debug, Serialize, ToSchema)]
pub struct BuildingView {
    /// The building's id.
    pub id: i64,
    /// The compound's id.
    pub compound_id: i64,
    /// The compound's name.
    pub compound: String,
    /// The building's number.
    pub number: Option<i64>,
    /// The building's name (`3号楼`).
    pub name: String,
    /// Floors.
    pub floors: Option<i64>,
    /// Households in it.
    pub households: i64,
    /// Residents in it.
    pub residents: i64,
    /// The zone level in force (`sealed`, `controlled`, `precaution`).
    pub zone: Option<String>,
}

impl From<BuildingSummary> for BuildingView {
    fn from(b: BuildingSummary) -> Self {
        BuildingView {
            id: b.id,
            compound_id: b.compound_id,
            compound: b.compound,
            number: b.number,
            name: b.name,
            floors: b.floors,
            households: b.households,
            residents: b.residents,
            zone: b.zone.map(|z| z.code().to_string()),
        }
    }
}

/// A household.
#[derive(Debug, Serialize, ToSchema)]
pub struct HouseholdView {
    /// The household's id.
    pub id: i64,
    /// The unit's id.
    pub unit_id: i64,
    /// The unit's name.
    pub unit: String,
    /// The building's id.
    pub building_id: i64,
    /// The building's name.
    pub building: String,
    /// The compound's name.
    pub compound: String,
    /// The floor.
    pub floor: Option<i64>,
    /// The room.
    pub room: String,
    /// Residents registered there.
    pub residents: i64,
}

impl From<Household> for HouseholdView {
    fn from(h: Household) -> Self {
        HouseholdView {
            id: h.id,
            unit_id: h.unit_id,
            unit: h.unit,
            building_id: h.building_id,
            building: h.building,
            compound: h.compound,
            floor: h.floor,
            room: h.room,
            residents: h.residents,
        }
    }
}

/// A zone-level decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct ZoneDecisionView {
    /// The decision's id.
    pub id: i64,
    /// The building's id.
    pub building_id: i64,
    /// `sealed`, `controlled` or `precaution`.
    pub level: String,
    /// From when (unix ms).
    pub effective_from: i64,
    /// Why.
    pub reason: String,
    /// Who decided.
    pub decided_by: String,
    /// When recorded (unix ms).
    pub created_at: i64,
}

impl From<ZoneDecision> for ZoneDecisionView {
    fn from(z: ZoneDecision) -> Self {
        ZoneDecisionView {
            id: z.id,
            building_id: z.building_id,
            level: z.level.code().to_string(),
            effective_from: z.effective_from,
            reason: z.reason,
            decided_by: z.decided_by,
            created_at: z.created_at,
        }
    }
}

/// A resident's address.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddressView {
    /// Compound.
    pub compound: String,
    /// Building.
    pub building: String,
    /// Unit.
    pub unit: String,
    /// Room.
    pub room: String,
}

/// A resident, as one reader may see them (see [`Disclosure`]): `id_number`
/// and `phone` are masked (`350602********1234`, `138****5678`) unless
/// revealed, which only roles allowed to reveal personal data get and the
/// audit log records. Fields a role does not get are absent: a masked view
/// never carries the birth date (it is an ID number's hidden digits), and
/// volunteers get neither numbers nor sampling codes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResidentView {
    /// The resident's id.
    pub id: i64,
    /// The name.
    pub name: String,
    /// The household's id.
    pub household: Option<i64>,
    /// The building's id.
    pub building: Option<i64>,
    /// The address.
    pub address: Option<AddressView>,
    /// Whether personal data is masked in this view.
    pub masked: bool,
    /// `cn_id`, `passport` or `none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc_kind: Option<String>,
    /// The document number, masked unless revealed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    /// The mobile number, masked unless revealed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Birth date `YYYY-MM-DD`, in revealed views only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    /// Age in full years today.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age: Option<i32>,
    /// `male` or `female`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sex: Option<String>,
    /// Special needs, recorded and derived from age.
    pub special_needs: Vec<String>,
    /// The sampling code (核酸码); reveals nothing of the ID number, but lets
    /// its holder post scans, so only office roles get it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampling_code: Option<String>,
}

pub use frontline_domain::privacy::{mask_document, mask_phone};

/// Today's local date under the configured time zone.
pub fn today(rules: &Rules) -> Date {
    Date::from_unix_ms(now_ms(), rules.utc_offset_minutes)
}

/// Recorded needs plus those derived from the birth date.
pub fn needs_with_derived(stored: i64, birth: Option<Date>, today: Date, rules: &Rules) -> SpecialNeeds {
    let mut needs = SpecialNeeds::from_bits(stored);
    if let Some(b) = birth {
        let age = b.age_on(today);
        if age >= rules.elderly_age {
            needs.insert(SpecialNeed::Elderly);
        }
        if age < rules.infant_age_below {
            needs.insert(SpecialNeed::Infant);
        }
    }
    needs
}

impl ResidentView {
    /// Builds the view of `r` that `who` may see.
    pub fn new(r: Resident, who: Disclosure, code_key: u64, rules: &Rules, today: Date) -> ResidentView {
        use frontline_domain::privacy::ResidentField as F;
        let birth = r.birth_date.as_deref().and_then(Date::parse_iso);
        let needs = needs_with_derived(r.needs, birth, today, rules);
        let id_number = r.id_number.and_then(|n| who.document(&r.doc_kind, &n));
        let phone = r.phone.and_then(|p| who.phone(&p));
        let shows = |f: F| who.shows(f);
        ResidentView {
            id: r.id,
            name: r.name,
            household: r.household_id,
            building: r.building_id,
            address: r.address.map(|a| AddressView {
                compound: a.compound,
                building: a.building,
                unit: a.unit,
                room: a.room,
            }),
            masked: !who.is_revealed(),
            doc_kind: shows(F::DocKind).then_some(r.doc_kind),
            id_number,
            phone,
            birth_date: r.birth_date.and_then(|b| who.birth_date(&b)),
            age: birth.filter(|_| shows(F::Age)).map(|b| b.age_on(today)),
            sex: r.sex.filter(|_| shows(F::Sex)),
            special_needs: needs.iter().map(|n| n.code().to_string()).collect(),
            sampling_code: shows(F::SamplingCode).then(|| SamplingCode::encode(r.id, code_key).as_str().to_string()),
        }
    }
}

/// An audit entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    /// The entry's id.
    pub id: i64,
    /// When (unix ms).
    pub at: i64,
    /// The acting account's id.
    pub actor_id: Option<i64>,
    /// The acting account.
    pub actor: String,
    /// The client's address.
    pub ip: Option<String>,
    /// What happened.
    pub action: String,
    /// The kind of entity.
    pub entity: String,
    /// The entity's id.
    pub entity_id: Option<String>,
    /// Before the change: the entity's fields, which vary by entity.
    #[schema(value_type = Option<HashMap<String, serde_json::Value>>)]
    pub before: Option<serde_json::Value>,
    /// After the change: the entity's fields, which vary by entity.
    #[schema(value_type = Option<HashMap<String, serde_json::Value>>)]
    pub after: Option<serde_json::Value>,
}

impl AuditView {
    /// The entry as a reader sees it: personal data in before and after (and
    /// the entity id) masked unless `reveal` ([`crate::redact::mask_personal`]).
    pub fn new(e: AuditEntry, reveal: bool) -> AuditView {
        let (mut before, mut after, mut entity_id) = (e.before, e.after, e.entity_id);
        if !reveal {
            before.iter_mut().for_each(crate::redact::mask_personal);
            after.iter_mut().for_each(crate::redact::mask_personal);
            entity_id = entity_id.map(crate::redact::mask_text);
        }
        AuditView {
            id: e.id,
            at: e.at,
            actor_id: e.actor_id,
            actor: e.actor,
            ip: e.ip,
            action: e.action,
            entity: e.entity,
            entity_id,
            before,
            after,
        }
    }
}

impl From<AuditEntry> for AuditView {
    /// Masked.
    fn from(e: AuditEntry) -> Self {
        AuditView::new(e, false)
    }
}

/// A working group.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupView {
    /// The group's id.
    pub id: i64,
    /// A stable code.
    pub code: String,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: String,
    /// Duty.
    pub duty: String,
    /// Display order.
    pub sort: i64,
    /// The leader's account id, one of the members.
    pub leader_id: Option<i64>,
}

impl From<Group> for GroupView {
    fn from(g: Group) -> Self {
        GroupView {
            id: g.id,
            code: g.code,
            name: g.name,
            name_en: g.name_en,
            duty: g.duty,
            sort: g.sort,
            leader_id: g.leader_id,
        }
    }
}

/// An account.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// The account's id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role code.
    pub role: String,
    /// Working group.
    pub group_id: Option<i64>,
    /// Team (小队), deciding a volunteer's buildings.
    pub team: Option<String>,
    /// Whether disabled.
    pub disabled: bool,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            role: u.role.code().to_string(),
            group_id: u.group_id,
            team: u.team,
            disabled: u.disabled,
        }
    }
}

/// Declares a list envelope `{"items": […], "next": cursor}` for a view type.
macro_rules! list_of {
    ($name:ident, $item:ty) => {
        #[doc = concat!("A page of `", stringify!($item), "`; pass `next` as `after` for the following page.")]
        #[derive(Debug, Serialize, ToSchema)]
        pub struct $name {
            /// The rows.
            pub items: Vec<$item>,
            /// The cursor of the next page, `null` at the end.
            pub next: Option<String>,
        }

        impl $name {
            /// Converts a store page.
            pub fn from_page<T: Into<$item>>(page: frontline_store::Page<T>) -> Self {
                $name { items: page.items.into_iter().map(Into::into).collect(), next: page.next }
            }
        }
    };
}

list_of!(BuildingList, BuildingView);
list_of!(HouseholdList, HouseholdView);
list_of!(ResidentList, ResidentView);
list_of!(AuditList, AuditView);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_head_and_tail() {
        assert_eq!(mask_document("cn_id", "11010519491231002X"), "110105********002X");
        assert_eq!(mask_phone("13800005678"), "138****5678");
        assert_eq!(frontline_domain::privacy::mask_middle("abc", 2, 2), "***");
    }

    #[test]
    fn needs_are_derived_from_age() {
        let rules = Rules::default();
        let today = Date::new(2022, 6, 13).expect("date");
        let old = Date::new(1942, 6, 13);
        let n = needs_with_derived(0, old, today, &rules);
        assert!(n.contains(SpecialNeed::Elderly));
        let almost = Date::new(1942, 6, 14);
        assert!(!needs_with_derived(0, almost, today, &rules).contains(SpecialNeed::Elderly));
        let baby = Date::new(2021, 1, 1);
        assert!(needs_with_derived(0, baby, today, &rules).contains(SpecialNeed::Infant));
    }
}
