//! Census columns: the fields a census sheet can hold, their stable codes, and the header synonyms that name them.

use crate::people::SpecialNeed;

use super::text::fold;

/// What a column of a census sheet holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// 姓名 — the person's name.
    Name,
    /// 身份证号 — the ID number (or, with [`Field::DocKind`], another document's number).
    IdNumber,
    /// 证件类型 — the kind of document (身份证, 护照…).
    DocKind,
    /// 手机 — the mobile number.
    Phone,
    /// 楼栋 — the building.
    Building,
    /// 单元 — the unit (entrance).
    Unit,
    /// 房号 — the room.
    Room,
    /// 楼层 — the floor.
    Floor,
    /// 住址 — one combined address cell (3号楼1单元1302).
    Address,
    /// 小区 — the compound.
    Compound,
    /// 性别 — sex.
    Sex,
    /// 出生日期 — birth date.
    BirthDate,
    /// 与户主关系 — relation to the head of household.
    Relation,
    /// 在家情况 — at home or away; a negative answer (否) means away.
    Status,
    /// 是否外出 — away from home; a yes-like answer means away.
    Away,
    /// A special-need column (是否独居老人, 孕妇, 透析…); a yes-like answer means the need applies.
    Need(SpecialNeed),
    /// 备注 — free-text note.
    Note,
}

impl Field {
    /// Every field, in display order.
    pub const ALL: [Field; 25] = [
        Field::Name,
        Field::IdNumber,
        Field::DocKind,
        Field::Phone,
        Field::Compound,
        Field::Building,
        Field::Unit,
        Field::Room,
        Field::Floor,
        Field::Address,
        Field::Sex,
        Field::BirthDate,
        Field::Relation,
        Field::Status,
        Field::Away,
        Field::Need(SpecialNeed::Elderly),
        Field::Need(SpecialNeed::LivingAlone),
        Field::Need(SpecialNeed::Pregnant),
        Field::Need(SpecialNeed::Dialysis),
        Field::Need(SpecialNeed::Chemotherapy),
        Field::Need(SpecialNeed::Disabled),
        Field::Need(SpecialNeed::Bedridden),
        Field::Need(SpecialNeed::ChronicMedication),
        Field::Need(SpecialNeed::Infant),
        Field::Note,
    ];

    /// The stable snake_case code ("name", "id_number", "need.dialysis"), for saved mappings and the catalogue.
    pub const fn code(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::IdNumber => "id_number",
            Field::DocKind => "doc_kind",
            Field::Phone => "phone",
            Field::Building => "building",
            Field::Unit => "unit",
            Field::Room => "room",
            Field::Floor => "floor",
            Field::Address => "address",
            Field::Compound => "compound",
            Field::Sex => "sex",
            Field::BirthDate => "birth_date",
            Field::Relation => "relation",
            Field::Status => "status",
            Field::Away => "away",
            Field::Note => "note",
            Field::Need(n) => match n {
                SpecialNeed::LivingAlone => "need.living_alone",
                SpecialNeed::Pregnant => "need.pregnant",
                SpecialNeed::Dialysis => "need.dialysis",
                SpecialNeed::Chemotherapy => "need.chemotherapy",
                SpecialNeed::Disabled => "need.disabled",
                SpecialNeed::Bedridden => "need.bedridden",
                SpecialNeed::ChronicMedication => "need.chronic_medication",
                SpecialNeed::Infant => "need.infant",
                SpecialNeed::Elderly => "need.elderly",
            },
        }
    }

    /// The field for a code produced by [`Field::code`]; `None` for anything else.
    pub fn from_code(code: &str) -> Option<Field> {
        let code = code.trim();
        Field::ALL.into_iter().find(|f| f.code() == code)
    }

    /// The catalogue key of the field's display name: `census.field.<code>`.
    pub fn message_key(self) -> String {
        format!("census.field.{}", self.code())
    }

    /// Whether the field is part of the address (compound, building, unit, room, floor, combined address).
    pub const fn is_address(self) -> bool {
        matches!(self, Field::Compound | Field::Building | Field::Unit | Field::Room | Field::Floor | Field::Address)
    }
}

impl serde::Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for Field {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Field, D::Error> {
        let s = String::deserialize(deserializer)?;
        Field::from_code(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown census field {s:?}")))
    }
}

/// Header texts (already normalised by [`normalise_header`]) and the field each names.
///
/// This is the one table of synonyms; add a row to teach the importer a new header.
pub const HEADER_SYNONYMS: &[(&str, Field)] = &[
    // Name.
    ("姓名", Field::Name),
    ("名字", Field::Name),
    ("户主姓名", Field::Name),
    ("居民姓名", Field::Name),
    ("人员姓名", Field::Name),
    ("成员姓名", Field::Name),
    ("住户姓名", Field::Name),
    ("居住人姓名", Field::Name),
    ("人员名称", Field::Name),
    ("本人姓名", Field::Name),
    ("被调查人姓名", Field::Name),
    ("name", Field::Name),
    ("fullname", Field::Name),
    // ID number.
    ("身份证号", Field::IdNumber),
    ("身份证号码", Field::IdNumber),
    ("证件号", Field::IdNumber),
    ("证件号码", Field::IdNumber),
    ("公民身份号码", Field::IdNumber),
    ("身份证", Field::IdNumber),
    ("身份证件号码", Field::IdNumber),
    ("公民身份证号", Field::IdNumber),
    ("公民身份证号码", Field::IdNumber),
    ("身份号码", Field::IdNumber),
    ("居民身份证号", Field::IdNumber),
    ("居民身份证号码", Field::IdNumber),
    ("身份证号码18位", Field::IdNumber),
    ("id", Field::IdNumber),
    ("idnumber", Field::IdNumber),
    ("idno", Field::IdNumber),
    ("idcard", Field::IdNumber),
    ("idcardno", Field::IdNumber),
    // Document kind.
    ("证件类型", Field::DocKind),
    ("证件种类", Field::DocKind),
    ("doctype", Field::DocKind),
    ("documenttype", Field::DocKind),
    // Phone.
    ("手机", Field::Phone),
    ("手机号", Field::Phone),
    ("手机号码", Field::Phone),
    ("联系电话", Field::Phone),
    ("电话", Field::Phone),
    ("电话号码", Field::Phone),
    ("联系方式", Field::Phone),
    ("联系号码", Field::Phone),
    ("本人电话", Field::Phone),
    ("本人手机", Field::Phone),
    ("phone", Field::Phone),
    ("mobile", Field::Phone),
    ("tel", Field::Phone),
    // Building.
    ("楼栋", Field::Building),
    ("楼号", Field::Building),
    ("栋", Field::Building),
    ("幢", Field::Building),
    ("楼", Field::Building),
    ("栋号", Field::Building),
    ("楼栋号", Field::Building),
    ("幢号", Field::Building),
    ("楼幢", Field::Building),
    ("楼幢号", Field::Building),
    ("栋数", Field::Building),
    ("楼栋名称", Field::Building),
    ("building", Field::Building),
    // Unit.
    ("单元", Field::Unit),
    ("单元号", Field::Unit),
    ("unit", Field::Unit),
    // Room.
    ("房号", Field::Room),
    ("室", Field::Room),
    ("室号", Field::Room),
    ("门牌号", Field::Room),
    ("房间号", Field::Room),
    ("户号", Field::Room),
    ("门牌", Field::Room),
    ("门号", Field::Room),
    ("房间", Field::Room),
    ("房屋号", Field::Room),
    ("户室号", Field::Room),
    ("room", Field::Room),
    // Floor.
    ("楼层", Field::Floor),
    ("层", Field::Floor),
    ("floor", Field::Floor),
    // Combined address.
    ("住址", Field::Address),
    ("地址", Field::Address),
    ("家庭住址", Field::Address),
    ("现住址", Field::Address),
    ("居住地址", Field::Address),
    ("详细地址", Field::Address),
    ("address", Field::Address),
    // Compound.
    ("小区", Field::Compound),
    ("小区名称", Field::Compound),
    ("小区名", Field::Compound),
    ("compound", Field::Compound),
    // Sex.
    ("性别", Field::Sex),
    ("sex", Field::Sex),
    ("gender", Field::Sex),
    // Birth date.
    ("出生日期", Field::BirthDate),
    ("出生年月", Field::BirthDate),
    ("出生年月日", Field::BirthDate),
    ("生日", Field::BirthDate),
    ("birthdate", Field::BirthDate),
    ("dateofbirth", Field::BirthDate),
    ("dob", Field::BirthDate),
    // Relation.
    ("与户主关系", Field::Relation),
    ("与户主的关系", Field::Relation),
    ("关系", Field::Relation),
    ("relation", Field::Relation),
    // At home or away.
    ("在家情况", Field::Status),
    ("是否在家", Field::Status),
    ("状态", Field::Status),
    ("居住状态", Field::Status),
    ("status", Field::Status),
    ("外出", Field::Away),
    ("是否外出", Field::Away),
    ("away", Field::Away),
    // Special needs.
    ("是否独居老人", Field::Need(SpecialNeed::LivingAlone)),
    ("独居", Field::Need(SpecialNeed::LivingAlone)),
    ("独居老人", Field::Need(SpecialNeed::LivingAlone)),
    ("孕妇", Field::Need(SpecialNeed::Pregnant)),
    ("是否孕妇", Field::Need(SpecialNeed::Pregnant)),
    ("透析", Field::Need(SpecialNeed::Dialysis)),
    ("是否透析", Field::Need(SpecialNeed::Dialysis)),
    ("血透", Field::Need(SpecialNeed::Dialysis)),
    ("化疗", Field::Need(SpecialNeed::Chemotherapy)),
    ("放化疗", Field::Need(SpecialNeed::Chemotherapy)),
    ("残疾", Field::Need(SpecialNeed::Disabled)),
    ("残疾人", Field::Need(SpecialNeed::Disabled)),
    ("卧床", Field::Need(SpecialNeed::Bedridden)),
    ("瘫痪卧床", Field::Need(SpecialNeed::Bedridden)),
    ("慢性病", Field::Need(SpecialNeed::ChronicMedication)),
    ("慢病", Field::Need(SpecialNeed::ChronicMedication)),
    ("长期用药", Field::Need(SpecialNeed::ChronicMedication)),
    ("婴幼儿", Field::Need(SpecialNeed::Infant)),
    ("高龄", Field::Need(SpecialNeed::Elderly)),
    ("高龄老人", Field::Need(SpecialNeed::Elderly)),
    // Note.
    ("备注", Field::Note),
    ("说明", Field::Note),
    ("remark", Field::Note),
    ("remarks", Field::Note),
    ("note", Field::Note),
    ("notes", Field::Note),
];

/// Fields a census sheet must have mapped before it can be imported: without a
/// name column every person arrives nameless, without an ID column nobody can be
/// matched. A sheet missing one goes to the column mapping step.
pub const REQUIRED_FIELDS: [Field; 2] = [Field::Name, Field::IdNumber];

/// Synonyms that give way to a stronger one for the same field in the same header row
/// (户主姓名 beside 姓名 is the head of household, 电话 beside 手机号 is a landline).
pub const WEAK_SYNONYMS: &[&str] = &["户主姓名", "电话", "联系方式", "tel", "楼", "层", "关系", "状态"];

/// Header cells longer than this (in bytes) are not headers.
const MAX_HEADER_BYTES: usize = 256;

/// Markers of a required or optional column, removed from headers.
const HEADER_TAGS: &[&str] = &["(必填)", "(选填)", "(必选)", "[必填]", "【必填】", "【选填】"];

/// Normalises a header cell for lookup: full-width folded, spaces, `*`, `_`, `-`, `.`, colons and
/// (必填) removed, ASCII lowercased; empty for a cell too long to be a header.
pub fn normalise_header(raw: &str) -> String {
    if raw.len() > MAX_HEADER_BYTES {
        return String::new();
    }
    let mut s: String = fold(raw)
        .chars()
        .filter(|&c| !(c.is_whitespace() || matches!(c, '*' | ':' | '_' | '-' | '.' | '、' | '#')))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    for tag in HEADER_TAGS {
        if s.contains(tag) {
            s = s.replace(tag, "");
        }
    }
    s
}

/// The table entry for an already normalised header.
fn lookup(normalised: &str) -> Option<Field> {
    HEADER_SYNONYMS.iter().find(|(h, _)| *h == normalised).map(|&(_, f)| f)
}

/// The field a header names, by the synonym table; also tried without a trailing
/// parenthesis (手机号码(户主)) and without a leading 是否 (是否残疾 → 残疾).
pub fn field_for_header(raw: &str) -> Option<Field> {
    let n = normalise_header(raw);
    if n.is_empty() {
        return None;
    }
    lookup(&n).or_else(|| {
        let base = match n.rfind('(') {
            Some(i) if n.ends_with(')') && i > 0 => &n[..i],
            _ => n.as_str(),
        };
        lookup(base).or_else(|| base.strip_prefix("是否").and_then(lookup))
    })
}

/// Whether a header is a weak synonym (see [`WEAK_SYNONYMS`]).
pub(crate) fn is_weak_header(raw: &str) -> bool {
    let n = normalise_header(raw);
    WEAK_SYNONYMS.contains(&n.as_str())
}
