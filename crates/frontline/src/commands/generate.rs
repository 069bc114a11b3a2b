//! `frontline generate …`: files for trials and benchmarks.

use std::fs::File;
use std::io::BufWriter;

use anyhow::Context;
use frontline_import::generate::{census_csv, CensusFileSpec, OutEncoding};

use crate::cli::GenerateCommand;

/// Runs a `generate` subcommand.
pub fn run(cmd: GenerateCommand) -> anyhow::Result<()> {
    match cmd {
        GenerateCommand::CensusFile { out, rows, seed, messy, gbk } => {
            let spec = CensusFileSpec {
                rows,
                seed,
                encoding: if gbk { OutEncoding::Gb18030 } else { OutEncoding::Utf8 },
                title_row: messy,
                messy,
                residents: Vec::new(),
            };
            let file = File::create(&out).with_context(|| format!("creating {}", out.display()))?;
            let stats =
                census_csv(&spec, &mut BufWriter::new(file)).with_context(|| format!("writing {}", out.display()))?;
            println!(
                "wrote {} data rows ({} duplicates, {} blank, {} totals, {} precision-lost IDs, {} bad phones, {} 15-digit IDs) to {}",
                stats.data_rows,
                stats.duplicates,
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
