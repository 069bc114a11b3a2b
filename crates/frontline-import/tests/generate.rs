//! The messy census generator: its counts match what decoding sees, and it is deterministic.

use std::collections::HashSet;

use frontline_domain::ids::IdNumber;
use frontline_import::generate::{
    census_csv, census_xlsx, synthetic_residents, CensusFileSpec, GeneratedStats, OutEncoding, ResidentRow, HEADER,
};
use frontline_import::{decode, Format, Limits};

fn spec(rows: usize, seed: u64, encoding: OutEncoding) -> CensusFileSpec {
    CensusFileSpec { rows, seed, encoding, title_row: true, messy: true, residents: Vec::new() }
}

fn csv(spec: &CensusFileSpec) -> (Vec<u8>, GeneratedStats) {
    let mut out = Vec::new();
    let stats = census_csv(spec, &mut out).unwrap();
    (out, stats)
}

fn trimmed(rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    rows.into_iter()
        .map(|mut r| {
            while r.last().is_some_and(String::is_empty) {
                r.pop();
            }
            r
        })
        .collect()
}

/// What a reader counts in decoded rows (data rows start after the title and header).
fn observed(rows: &[Vec<String>]) -> GeneratedStats {
    let mut seen = HashSet::new();
    let mut names_by_id: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut o = GeneratedStats { total_rows: rows.len(), ..GeneratedStats::default() };
    for row in &rows[2..] {
        let cell = |i: usize| row.get(i).map_or("", String::as_str);
        if row.iter().all(|c| c.trim().is_empty()) {
            o.blank_rows += 1;
            continue;
        }
        if cell(0) == "合计" {
            o.totals_rows += 1;
            continue;
        }
        o.data_rows += 1;
        if !seen.insert(row.clone()) {
            o.duplicates += 1;
            continue;
        }
        let id = cell(1);
        // A number cell's "3.50602E+17" is no ID number: many people share it.
        if !id.contains("E+") && names_by_id.get(id).is_some_and(|name| name != cell(0)) {
            o.duplicates += 1;
            o.conflicts += 1;
            continue;
        }
        names_by_id.insert(id.to_string(), cell(0).to_string());
        o.precision_lost += usize::from(id.contains("E+"));
        o.fifteen_digit += usize::from(id.len() == 15 && id.bytes().all(|b| b.is_ascii_digit()));
        o.bad_phones += usize::from(!cell(2).is_empty() && cell(2).len() != 11);
    }
    o
}

#[test]
fn the_counts_match_what_decoding_sees_in_every_encoding() {
    let mut first: Option<Vec<Vec<String>>> = None;
    for encoding in [OutEncoding::Utf8, OutEncoding::Utf8Bom, OutEncoding::Gb18030] {
        let (bytes, stats) = csv(&spec(3_000, 42, encoding));
        let sheet = decode(&bytes, Some("摸排.csv"), &Limits::default()).unwrap();
        let label = match sheet.format {
            Format::Csv { encoding, delimiter: b',' } => encoding,
            other => panic!("{other:?}"),
        };
        assert_eq!(label, ["UTF-8", "UTF-8 with BOM", "GB18030"][encoding as usize]);
        assert_eq!(sheet.rows[1], HEADER);
        assert_eq!(observed(&sheet.rows), stats, "{encoding:?}");
        assert_eq!(stats.total_rows, 2 + stats.data_rows + stats.blank_rows + stats.totals_rows);
        assert_eq!(stats.data_rows, 3_000 + stats.duplicates);
        assert_eq!(stats.conflicts, 1, "one ID number under another name");
        // Every kind of mess is present in a file this size.
        assert!(stats.blank_rows > 0 && stats.duplicates > 0 && stats.precision_lost > 0);
        assert!(stats.bad_phones > 0 && stats.fifteen_digit > 0 && stats.totals_rows == 1);
        match &first {
            None => first = Some(sheet.rows),
            Some(rows) => assert_eq!(&sheet.rows, rows, "{encoding:?}"),
        }
    }
}

#[test]
fn the_xlsx_holds_the_same_rows_as_the_csv() {
    let spec = spec(1_000, 9, OutEncoding::Utf8);
    let (bytes, stats) = csv(&spec);
    let from_csv = trimmed(decode(&bytes, None, &Limits::default()).unwrap().rows);
    let xlsx = census_xlsx(&spec).unwrap();
    let sheet = decode(&xlsx, Some("摸排.csv"), &Limits::default()).unwrap();
    assert_eq!(sheet.format, Format::Xlsx);
    let from_xlsx = trimmed(sheet.rows);
    assert_eq!(from_xlsx.len(), stats.total_rows);
    assert_eq!(observed(&from_xlsx), stats);
    for (n, (a, b)) in from_csv.iter().zip(&from_xlsx).enumerate() {
        if a.get(1).is_some_and(|id| id.contains("E+")) {
            // "3.50602E+17" typed as text in CSV; a number cell in XLSX.
            assert!(b[1].contains("E+"), "row {}: {b:?}", n + 1);
            assert_eq!((&a[..1], &a[2..]), (&b[..1], &b[2..]), "row {}", n + 1);
        } else {
            assert_eq!(a, b, "row {}", n + 1);
        }
    }
}

#[test]
fn the_generator_is_deterministic() {
    let s = spec(2_000, 5, OutEncoding::Gb18030);
    assert_eq!(csv(&s), csv(&s));
    assert_ne!(csv(&s).0, csv(&spec(2_000, 6, OutEncoding::Gb18030)).0);
    assert_eq!(census_xlsx(&s).unwrap(), census_xlsx(&s).unwrap());
    assert_eq!(synthetic_residents(50, 1), synthetic_residents(50, 1));
}

#[test]
fn synthetic_residents_have_valid_unique_ids_and_sensible_addresses() {
    let residents = synthetic_residents(20_000, 11);
    let mut ids = HashSet::new();
    for r in &residents {
        let parsed = IdNumber::parse(&r.id_number).unwrap_or_else(|e| panic!("{}: {e}", r.id_number));
        assert!(parsed.warnings.is_empty(), "{}: {:?}", r.id_number, parsed.warnings);
        assert!(ids.insert(r.id_number.clone()), "duplicate {}", r.id_number);
        assert!(r.building >= 1 && r.unit >= 1 && r.room.len() >= 3, "{r:?}");
        assert!(r.name.chars().count() >= 2);
        if let Some(p) = &r.phone {
            assert!(p.len() == 11 && p.starts_with('1'));
        }
    }
    assert!(residents.iter().any(|r| r.id_number[6..10].parse::<i32>().unwrap() < 1942), "some are over 80");
}

/// Birth dates follow an age pyramid (they were once three dates for a few thousand people).
#[test]
fn synthetic_people_are_plausible() {
    let residents = synthetic_residents(3_000, 1);
    let births: HashSet<&str> = residents.iter().map(|r| &r.id_number[6..14]).collect();
    assert!(births.len() > 2_000, "{} distinct birth dates", births.len());
    let years: Vec<i32> = residents.iter().map(|r| r.id_number[6..10].parse().unwrap()).collect();
    let share = |f: &dyn Fn(i32) -> bool| years.iter().filter(|&&y| f(y)).count() as f64 / years.len() as f64;
    let (aged, children, working) =
        (share(&|y| y < 1937), share(&|y| y > 2004), share(&|y| (1957..=2004).contains(&y)));
    assert!(aged < 0.05, "over 85: {aged}");
    assert!((0.08..0.30).contains(&children), "under 18: {children}");
    assert!(working > 0.5, "18 to 65: {working}");
}

#[test]
fn a_clean_file_has_only_the_given_residents_then_synthetic_ones() {
    let given = ResidentRow {
        name: "王,\"小\"明".into(),
        id_number: "350602199001011234".into(),
        phone: Some("13800138000".into()),
        building: 7,
        unit: 2,
        room: "1203".into(),
    };
    let spec = CensusFileSpec { rows: 3, seed: 1, residents: vec![given], ..CensusFileSpec::default() };
    let (bytes, stats) = csv(&spec);
    assert_eq!(stats, GeneratedStats { data_rows: 3, total_rows: 4, ..GeneratedStats::default() }, "nothing injected");
    let rows = decode(&bytes, None, &Limits::default()).unwrap().rows;
    assert_eq!(rows[0], HEADER);
    assert_eq!(rows[1][..6], ["王,\"小\"明", "350602199001011234", "13800138000", "7", "2", "1203"]);
    assert_eq!(rows.len(), 4);
}

mod arbitrary_residents {
    use super::*;
    use proptest::prelude::*;

    fn resident() -> impl Strategy<Value = ResidentRow> {
        // Realistic cell text: Chinese, Latin letters, digits, spaces and punctuation. Arbitrary
        // code points (replacement characters, unassigned ones) rightly read as "not a spreadsheet".
        (
            "[\\p{Han}A-Za-z·・ ]{0,12}",
            "[0-9Xx ]{0,20}|[\\p{Han}A-Za-z0-9\\-' ]{0,20}",
            proptest::option::of("[0-9+ \\-]{0,14}"),
            any::<u32>(),
            "[0-9A-Za-z\\-室]{0,8}",
        )
            .prop_map(|(name, id_number, phone, n, room)| ResidentRow {
                name,
                id_number,
                phone,
                building: n,
                unit: n % 7,
                room,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn any_given_residents_are_written_and_read_back(
            residents in proptest::collection::vec(resident(), 1..40),
            extra in 0usize..20,
            seed in any::<u64>(),
            encoding in 0usize..3,
            title_row in any::<bool>(),
        ) {
            let encoding = [OutEncoding::Utf8, OutEncoding::Utf8Bom, OutEncoding::Gb18030][encoding];
            let rows = residents.len() + extra;
            let spec = CensusFileSpec { rows, seed, encoding, title_row, messy: true, residents };
            let (bytes, stats) = csv(&spec);
            prop_assert_eq!(stats.data_rows, rows + stats.duplicates);
            let sheet = decode(&bytes, None, &Limits::default()).unwrap();
            prop_assert_eq!(sheet.rows.len(), stats.total_rows);
            let xlsx = census_xlsx(&spec).unwrap();
            let sheet = decode(&xlsx, None, &Limits::default()).unwrap();
            prop_assert_eq!(sheet.rows.len(), stats.total_rows);
        }
    }
}
