//! Release timings of the file layer: `cargo run --release -p frontline-import --example timing [ROWS] [csv-only]`.
//!
//! Refusing 100 MB of random bytes, generating a messy N-row census CSV (UTF-8 and GB18030),
//! streaming it back with `for_each_row`, and a 100,000-row XLSX both ways.

use std::ops::ControlFlow;
use std::time::Instant;

use frontline_import::generate::{census_csv, census_xlsx, random_bytes, CensusFileSpec, OutEncoding};
use frontline_import::{decode, for_each_row, Limits};

/// The peak resident memory of this process so far, in MiB (Linux only).
fn peak_mib() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l[6..].trim().to_string()))
        .unwrap_or_else(|| "?".into())
}

fn main() {
    let rows: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let limits = Limits::default();
    let csv_only = std::env::args().nth(2).is_some_and(|a| a == "csv-only");
    if !csv_only {
        refuse_random(&limits);
    }
    census(rows, &limits);
    if !csv_only {
        workbook(&limits);
    }
}

/// Refusing 100 MiB of random bytes.
fn refuse_random(limits: &Limits) {
    let random = random_bytes(100 * 1024 * 1024, 1);
    let t = Instant::now();
    let result = decode(&random, None, limits).map(|_| ()).map_err(|e| e.code());
    println!("100 MiB random bytes: {result:?} in {:?}", t.elapsed());
    drop(random);
    println!("peak memory so far: {}", peak_mib());
}

/// Generating and streaming back a messy census CSV.
fn census(rows: usize, limits: &Limits) {
    for encoding in [OutEncoding::Utf8, OutEncoding::Gb18030] {
        let spec = CensusFileSpec { rows, seed: 1, encoding, title_row: true, messy: true, residents: Vec::new() };
        let mut bytes = Vec::new();
        let t = Instant::now();
        let stats = census_csv(&spec, &mut bytes).expect("in memory");
        let generated = t.elapsed();
        println!(
            "{encoding:?}: generated {} rows ({:.1} MB) in {generated:?}: {stats:?}",
            stats.total_rows,
            bytes.len() as f64 / 1e6
        );
        let t = Instant::now();
        let mut seen = 0usize;
        let mut cells = 0usize;
        let format = for_each_row(&bytes, Some("census.csv"), limits, |_, row| {
            seen += 1;
            cells += row.len();
            ControlFlow::Continue(())
        });
        let elapsed = t.elapsed();
        println!(
            "{encoding:?}: for_each_row {format:?}: {seen} rows, {cells} cells in {elapsed:?} ({:.0} rows/s)",
            seen as f64 / elapsed.as_secs_f64()
        );
        println!("peak memory so far: {}", peak_mib());
    }
}

/// A 100,000-row XLSX both ways.
fn workbook(limits: &Limits) {
    let spec = CensusFileSpec { rows: 100_000, seed: 1, title_row: true, messy: true, ..CensusFileSpec::default() };
    let t = Instant::now();
    let xlsx = census_xlsx(&spec).expect("writes");
    println!("XLSX: generated 100,000 rows ({:.1} MB) in {:?}", xlsx.len() as f64 / 1e6, t.elapsed());
    let t = Instant::now();
    let mut seen = 0usize;
    let format = for_each_row(&xlsx, None, limits, |_, _| {
        seen += 1;
        ControlFlow::Continue(())
    });
    println!("XLSX: for_each_row {format:?}: {seen} rows in {:?}", t.elapsed());
    println!("peak memory: {}", peak_mib());
}
