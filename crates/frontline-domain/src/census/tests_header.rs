//! Tests of header synonyms, header row detection, saved mappings, codes and the census catalogue.

use super::*;
use crate::i18n::{Catalogue, Lang};
use crate::people::SpecialNeed;

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

#[test]
fn every_synonym_family_maps() {
    let cases: &[(&str, Field)] = &[
        ("姓名", Field::Name),
        ("户主姓名", Field::Name),
        ("Full Name", Field::Name),
        ("身份证号码", Field::IdNumber),
        ("公民身份号码", Field::IdNumber),
        ("ID No", Field::IdNumber),
        ("id_number", Field::IdNumber),
        ("证件类型", Field::DocKind),
        ("Doc Type", Field::DocKind),
        ("联系电话", Field::Phone),
        ("Mobile", Field::Phone),
        ("楼栋", Field::Building),
        ("幢", Field::Building),
        ("Building", Field::Building),
        ("单元号", Field::Unit),
        ("门牌号", Field::Room),
        ("户号", Field::Room),
        ("楼层", Field::Floor),
        ("家庭住址", Field::Address),
        ("Address", Field::Address),
        ("小区名称", Field::Compound),
        ("性别", Field::Sex),
        ("Gender", Field::Sex),
        ("出生年月", Field::BirthDate),
        ("DOB", Field::BirthDate),
        ("与户主关系", Field::Relation),
        ("是否在家", Field::Status),
        ("Status", Field::Status),
        ("外出", Field::Away),
        ("是否独居老人", Field::Need(SpecialNeed::LivingAlone)),
        ("独居", Field::Need(SpecialNeed::LivingAlone)),
        ("是否孕妇", Field::Need(SpecialNeed::Pregnant)),
        ("血透", Field::Need(SpecialNeed::Dialysis)),
        ("放化疗", Field::Need(SpecialNeed::Chemotherapy)),
        ("残疾人", Field::Need(SpecialNeed::Disabled)),
        ("瘫痪卧床", Field::Need(SpecialNeed::Bedridden)),
        ("长期用药", Field::Need(SpecialNeed::ChronicMedication)),
        ("婴幼儿", Field::Need(SpecialNeed::Infant)),
        ("备注", Field::Note),
        ("Remark", Field::Note),
    ];
    for &(header, field) in cases {
        assert_eq!(field_for_header(header), Some(field), "{header}");
    }
}

#[test]
fn header_decorations_are_ignored() {
    assert_eq!(field_for_header("  *姓 名（必填）："), Some(Field::Name));
    assert_eq!(field_for_header("ＩＤ　Ｎｕｍｂｅｒ"), Some(Field::IdNumber));
    assert_eq!(field_for_header("身份证号(必填)"), Some(Field::IdNumber));
    assert_eq!(field_for_header("手机号码（户主）"), Some(Field::Phone));
    assert_eq!(field_for_header("是否残疾"), Some(Field::Need(SpecialNeed::Disabled)));
    assert_eq!(field_for_header("是否慢性病"), Some(Field::Need(SpecialNeed::ChronicMedication)));
    assert_eq!(field_for_header("序号"), None);
    assert_eq!(field_for_header(""), None);
    assert_eq!(field_for_header(&"姓名".repeat(1000)), None);
}

#[test]
fn synonym_table_is_normalised_and_unique() {
    for (i, (h, _)) in HEADER_SYNONYMS.iter().enumerate() {
        assert_eq!(normalise_header(h), *h, "{h} is not normalised");
        assert!(!HEADER_SYNONYMS[..i].iter().any(|(g, _)| g == h), "{h} twice");
    }
    for w in WEAK_SYNONYMS {
        assert!(HEADER_SYNONYMS.iter().any(|(h, _)| h == w), "weak {w} not in the table");
    }
}

#[test]
fn field_codes_round_trip() {
    for f in Field::ALL {
        assert_eq!(Field::from_code(f.code()), Some(f), "{}", f.code());
        let json = serde_json::to_string(&f).unwrap_or_default();
        assert_eq!(serde_json::from_str::<Field>(&json).ok(), Some(f));
    }
    assert_eq!(Field::IdNumber.code(), "id_number");
    assert_eq!(Field::Need(SpecialNeed::Dialysis).code(), "need.dialysis");
    assert_eq!(Field::from_code("nonsense"), None);
}

#[test]
fn header_below_title_merged_and_blank_rows() {
    let rows = vec![
        row(&["漳州开发区海月花园人员摸排表（第二轮）", "", "", ""]),
        row(&["", "", "", ""]),
        row(&["", "填表日期：2022年4月1日", "", ""]),
        row(&["序号", "姓名", "身份证号", "联系电话", "楼栋", "单元", "房号"]),
        row(&["1", "张三", "11010519491231002X", "13800138000", "3", "1", "1302"]),
    ];
    let map = detect_header(&rows, 10).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(map.header_row, 3);
    assert_eq!(
        map.columns,
        vec![
            (1, Field::Name),
            (2, Field::IdNumber),
            (3, Field::Phone),
            (4, Field::Building),
            (5, Field::Unit),
            (6, Field::Room)
        ]
    );
    assert!(map.duplicates.is_empty());
    // Not found within the scan limit.
    assert_eq!(detect_header(&rows, 3), Err(HeaderError::NoIdentityColumn));
}

#[test]
fn only_phone_and_address_is_no_identity_column() {
    let rows = vec![row(&["电话", "住址"]), row(&["13800138000", "3号楼1单元1302"])];
    let err = detect_header(&rows, 10);
    assert_eq!(err, Err(HeaderError::NoIdentityColumn));
    assert_eq!(HeaderError::NoIdentityColumn.code(), "no_identity_column");
}

#[test]
fn empty_sheets() {
    assert_eq!(detect_header(&[], 10), Err(HeaderError::Empty));
    assert_eq!(detect_header(&[row(&["", "  "]), row(&[])], 10), Err(HeaderError::Empty));
}

#[test]
fn a_name_alone_is_not_a_header() {
    // Two known fields are needed, one of them a name or ID number.
    let rows = vec![row(&["姓名", "爱好"]), row(&["姓名", "备注"])];
    let map = detect_header(&rows, 10).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(map.header_row, 1);
}

#[test]
fn duplicates_keep_the_first_and_weak_names_give_way() {
    let rows = vec![row(&["户主姓名", "姓名", "身份证号", "证件号码", "电话", "手机号"])];
    let map = detect_header(&rows, 5).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(map.column(Field::Name), Some(1));
    assert_eq!(map.column(Field::IdNumber), Some(2));
    assert_eq!(map.column(Field::Phone), Some(5));
    assert_eq!(map.duplicates, vec![(0, Field::Name), (3, Field::IdNumber), (4, Field::Phone)]);
}

#[test]
fn saved_mapping_is_reused() {
    let headers = row(&["住户", "证号", "手机号", "备用"]);
    assert_eq!(detect_header(std::slice::from_ref(&headers), 5), Err(HeaderError::NoIdentityColumn));
    let saved = vec![("住户".to_string(), Field::Name), ("证号".to_string(), Field::IdNumber)];
    let map = apply_mapping(&headers, 0, &saved).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(map.columns, vec![(0, Field::Name), (1, Field::IdNumber), (2, Field::Phone)]);
    assert_eq!(detect_header_with(std::slice::from_ref(&headers), 5, &saved).as_ref(), Ok(&map));
    // Saved as codes, restored from codes.
    let stored: Vec<(String, String)> =
        map.to_saved(&headers).into_iter().map(|(h, f)| (h, f.code().to_string())).collect();
    let restored: Vec<(String, Field)> =
        stored.into_iter().filter_map(|(h, c)| Field::from_code(&c).map(|f| (h, f))).collect();
    assert_eq!(apply_mapping(&headers, 0, &restored), Ok(map));
    assert_eq!(apply_mapping(&row(&["a", "b"]), 0, &[]), Err(HeaderError::NoIdentityColumn));
    assert_eq!(apply_mapping(&row(&[""]), 0, &[]), Err(HeaderError::Empty));
}

#[test]
fn ten_thousand_header_columns() {
    let mut headers: Vec<String> = (0..10_000).map(|i| format!("列{i}")).collect();
    headers[9_998] = "姓名".into();
    headers[9_999] = "身份证号".into();
    let map = detect_header(&[headers], 1).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(map.columns, vec![(9_998, Field::Name), (9_999, Field::IdNumber)]);
}

/// The census catalogue, which the catalogue owner merges into messages.toml.
const CATALOGUE: &str = include_str!("../../messages_census.toml");

#[test]
fn catalogue_covers_every_code_in_both_languages() {
    let cat = Catalogue::parse(CATALOGUE);
    assert!(cat.problems().is_empty(), "{:#?}", cat.problems());
    for code in REFUSAL_CODES.iter().chain(WARNING_CODES) {
        assert!(cat.has(&format!("census.issue.{code}")), "census.issue.{code}");
        // Counts per reason have no row to fill a parameter from: their titles take none.
        let reason = format!("census.reason.{code}");
        assert!(cat.has(&reason), "{reason}");
        for lang in [Lang::Zh, Lang::En] {
            let title = cat.text(lang, &reason);
            assert!(!title.is_empty() && !title.contains('{'), "{reason}: {title:?}");
        }
    }
    for f in Field::ALL {
        assert!(cat.has(&f.message_key()), "{}", f.message_key());
    }
    for e in [HeaderError::Empty, HeaderError::NoIdentityColumn] {
        assert!(cat.has(&format!("census.header.{}", e.code())));
    }
    assert_eq!(cat.text(Lang::Zh, "census.field.need.dialysis"), "透析");
    let text = cat.format(Lang::En, "census.issue.id_bad_length", &[("len", "17".into())]);
    assert!(text.contains("17 characters"), "{text}");
}

#[test]
fn a_sheet_in_a_district_s_own_words_maps_every_required_field() {
    let rows = vec![vec!["住户姓名", "公民身份号码", "幢", "门牌"].into_iter().map(String::from).collect::<Vec<_>>()];
    let map = detect_header(&rows, 5).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(map.column(Field::Name), Some(0));
    assert_eq!(map.column(Field::IdNumber), Some(1));
    assert_eq!(map.column(Field::Building), Some(2));
    assert_eq!(map.column(Field::Room), Some(3));
    assert!(map.missing_required().is_empty());
    for (header, field) in [
        ("居民身份证号码", Field::IdNumber),
        ("身份号码", Field::IdNumber),
        ("楼幢号", Field::Building),
        ("门号", Field::Room),
        ("联系号码", Field::Phone),
        ("本人姓名", Field::Name),
    ] {
        assert_eq!(field_for_header(header), Some(field), "{header}");
    }
}

#[test]
fn a_sheet_without_a_name_column_misses_a_required_field() {
    let rows = vec![vec!["住户名", "公民身份号码", "幢", "门牌"].into_iter().map(String::from).collect::<Vec<_>>()];
    let map = detect_header(&rows, 5).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(map.missing_required(), vec![Field::Name]);
    let mapped = apply_mapping(&rows[0], 0, &[("住户名".to_string(), Field::Name)]).unwrap_or_else(|e| panic!("{e}"));
    assert!(mapped.missing_required().is_empty());
}

#[test]
fn a_row_label_names_the_person_and_the_address_not_the_document() {
    let header: Vec<String> = ["姓名", "身份证号", "楼栋", "单元", "房号"].into_iter().map(String::from).collect();
    let map = detect_header(&[header], 5).unwrap_or_else(|e| panic!("{e}"));
    let cells: Vec<String> =
        [" 洪华 ", "11010519491231002X", "3栋", "1", "1302"].into_iter().map(String::from).collect();
    let (name, address) = super::row_label(&map, &cells);
    assert_eq!(name, "洪华");
    assert_eq!(address, "3栋 1 1302");
}
