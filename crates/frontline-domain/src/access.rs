//! Roles and permissions: who may see and do what.
//!
//! Permissions are checked in one place (the web layer's `Auth` extractor calls
//! [`Role::can`]); every endpoint and page names the permission it needs.

use serde::{Deserialize, Serialize};

/// An account's role on the front line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 指挥长 — the front-line commander.
    Commander,
    /// 副指挥长 — a deputy commander.
    Deputy,
    /// 组长 — a working group's leader.
    GroupLead,
    /// 工作人员 — staff of a working group.
    Staff,
    /// 志愿者 — a volunteer.
    Volunteer,
    /// 卡口 — a checkpoint guard.
    Checkpoint,
    /// 检测机构 — a testing lab.
    Lab,
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 7] =
        [Role::Commander, Role::Deputy, Role::GroupLead, Role::Staff, Role::Volunteer, Role::Checkpoint, Role::Lab];

    /// Stable snake_case code (also the demo account's user name).
    pub const fn code(self) -> &'static str {
        match self {
            Role::Commander => "commander",
            Role::Deputy => "deputy",
            Role::GroupLead => "group_lead",
            Role::Staff => "staff",
            Role::Volunteer => "volunteer",
            Role::Checkpoint => "checkpoint",
            Role::Lab => "lab",
        }
    }

    /// Parses a code produced by [`Role::code`].
    pub fn from_code(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Whether this role holds `perm`.
    pub const fn can(self, perm: Perm) -> bool {
        use Perm::*;
        match self {
            Role::Commander => true,
            Role::Deputy => !matches!(perm, ManageUsers),
            Role::GroupLead => matches!(
                perm,
                ViewPlaces
                    | ViewResidents
                    | EditResidents
                    | RevealPersonalData
                    | ViewGroups
                    | ViewCensus
                    | ImportCensus
                    | ReviewCensus
                    | ViewSampling
                    | ManageSampling
                    | Scan
            ),
            Role::Staff => matches!(
                perm,
                ViewPlaces
                    | ViewResidents
                    | EditResidents
                    | ViewGroups
                    | ViewCensus
                    | ImportCensus
                    | ViewSampling
                    | Scan
            ),
            Role::Volunteer => matches!(perm, ViewPlaces | ViewResidents | ViewSampling | Scan),
            // The lab's account is held by the lab's lead: it posts results and
            // corrects one recorded in error.
            Role::Lab => matches!(perm, LabResults | CorrectLabResults),
            Role::Checkpoint => false,
        }
    }
}

/// One thing an account may be allowed to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Perm {
    /// See compounds, buildings, units, households and their counts.
    ViewPlaces,
    /// Change places: zone levels, buildings.
    EditPlaces,
    /// See residents with personal data masked.
    ViewResidents,
    /// Create and update residents.
    EditResidents,
    /// See unmasked ID numbers and phones (each view is audited).
    RevealPersonalData,
    /// Read the audit log.
    ViewAudit,
    /// See the working groups.
    ViewGroups,
    /// Create and edit working groups.
    ManageGroups,
    /// Create, disable and reset accounts.
    ManageUsers,
    /// See census rounds, their reconciliation and the base numbers.
    ViewCensus,
    /// Import census sheets.
    ImportCensus,
    /// Merge likely duplicates or keep them apart, and undo merges.
    ReviewCensus,
    /// See sampling rounds, coverage and the missed list.
    ViewSampling,
    /// Create and close sampling rounds.
    ManageSampling,
    /// Scan tubes and residents' codes.
    Scan,
    /// Post lab results.
    LabResults,
    /// Correct a lab result recorded in error (the lab's lead and command).
    CorrectLabResults,
}

impl Perm {
    /// Every permission.
    pub const ALL: [Perm; 17] = [
        Perm::ViewPlaces,
        Perm::EditPlaces,
        Perm::ViewResidents,
        Perm::EditResidents,
        Perm::RevealPersonalData,
        Perm::ViewAudit,
        Perm::ViewGroups,
        Perm::ManageGroups,
        Perm::ManageUsers,
        Perm::ViewCensus,
        Perm::ImportCensus,
        Perm::ReviewCensus,
        Perm::ViewSampling,
        Perm::ManageSampling,
        Perm::Scan,
        Perm::LabResults,
        Perm::CorrectLabResults,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commander_holds_everything_and_the_lab_only_results() {
        for p in Perm::ALL {
            assert!(Role::Commander.can(p));
            assert_eq!(Role::Lab.can(p), matches!(p, Perm::LabResults | Perm::CorrectLabResults), "{p:?}");
        }
    }

    #[test]
    fn only_the_lab_and_command_correct_results() {
        let who: Vec<Role> = Role::ALL.into_iter().filter(|r| r.can(Perm::CorrectLabResults)).collect();
        assert_eq!(who, vec![Role::Commander, Role::Deputy, Role::Lab]);
    }

    #[test]
    fn only_command_reads_the_audit_log() {
        let readers: Vec<Role> = Role::ALL.into_iter().filter(|r| r.can(Perm::ViewAudit)).collect();
        assert_eq!(readers, vec![Role::Commander, Role::Deputy]);
    }

    #[test]
    fn codes_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::from_code(r.code()), Some(r));
        }
        assert_eq!(Role::from_code("admin"), None);
    }
}
