//! The glossary: Chinese terms of the work and the English names used in code.
//!
//! UI text comes from the message catalogue; this table is for people reading
//! the code, and a test keeps it in step with the catalogue's `term.*` keys.

/// (English name in code, Chinese term, one-line meaning).
pub const TERMS: &[(&str, &str, &str)] = &[
    ("FrontlineCommand", "前线指挥部", "the front-line command: commander, deputies, six working groups"),
    ("WorkingGroup", "工作小组", "one of the command's groups"),
    ("SealedZone", "封控区", "nobody leaves home; every service comes to the door"),
    ("ControlledZone", "管控区", "nobody leaves the area; staggered pick-up of supplies"),
    ("PrecautionZone", "防范区", "social controls; no gatherings"),
    ("Census", "人员摸排", "door-to-door screening of who lives where"),
    ("BaseNumbers", "底数", "trusted counts of residents and households"),
    ("SamplingRound", "核酸采样轮次", "one round of nucleic-acid sampling"),
    ("PooledSampling", "混采", "several people's swabs in one tube"),
    ("ResampleList", "补采名单", "people missed by a round, to be sampled again"),
    ("BuildingSweep", "扫楼", "checking a building floor by floor"),
    ("SpecialGroups", "特殊群体", "residents with special needs"),
    ("MedicalTrip", "就医闭环", "a closed-loop trip to hospital and back"),
    ("Pass", "通行证", "a pass for staff, volunteers, vehicles or residents"),
    ("DailyBriefing", "每日会商", "the command's daily consultation"),
    ("CommunityZero", "社会面清零", "no new cases outside the controlled population"),
];
