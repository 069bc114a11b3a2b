//! `frontline generate …`: files for trials and benchmarks.

use std::fs::File;
use std::io::BufWriter;

use anyhow::Context;
use frontline_domain::date::Date;
use frontline_domain::synth::SynthOptions;
use frontline_import::generate::{census_csv, district_sheet, CensusFileSpec, OutEncoding};
use frontline_store::now_ms;

use crate::cli::GenerateCommand;

/// Runs a `generate` subcommand.
pub fn run(cmd: GenerateCommand, utc_offset_minutes: i32) -> anyhow::Result<()> {
    match cmd {
        GenerateCommand::CensusFile { out, rows, residents, seed, today, compound, messy, gbk } => {
            let mut spec = CensusFileSpec {
                rows: rows.unwrap_or(0),
                seed,
                encoding: if gbk { OutEncoding::Gb18030 } else { OutEncoding::Utf8 },
                title_row: messy,
                messy,
                residents: Vec::new(),
            };
            let mut about = String::new();
            if rows.is_none() {
                let today = match &today {
                    Some(t) => Date::parse_iso(t).with_context(|| format!("--today {t}: expected YYYY-MM-DD"))?,
                    None => Date::from_unix_ms(now_ms(), utc_offset_minutes),
                };
                let opts = SynthOptions { residents, seed, today };
                let sheet = district_sheet(&opts, compound.as_deref(), messy.then_some(seed))
                    .with_context(|| format!("no compound {:?} in the district of seed {seed}", compound))?;
                about = format!(
                    "compound {} of the district of {residents} residents, seed {seed}, as of {today} \
                     ({} moved out, {} newcomers, {} names mistyped)\n",
                    sheet.compound, sheet.moved_out, sheet.newcomers, sheet.typos
                );
                spec.rows = sheet.residents.len();
                spec.residents = sheet.residents;
            }
            let file = File::create(&out).with_context(|| format!("creating {}", out.display()))?;
            let stats =
                census_csv(&spec, &mut BufWriter::new(file)).with_context(|| format!("writing {}", out.display()))?;
            print!("{about}");
            println!(
                "wrote {} data rows ({} duplicates of which {} under another name, {} blank, {} totals, \
                 {} precision-lost IDs, {} bad phones, {} 15-digit IDs) to {}",
                stats.data_rows,
                stats.duplicates,
                stats.conflicts,
                stats.blank_rows,
                stats.totals_rows,
                stats.precision_lost,
                stats.bad_phones,
                stats.fifteen_digit,
                out.display()
            );
            Ok(())
        }
    }
}
