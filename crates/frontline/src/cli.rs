//! The command line: every subcommand and flag, in one place.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Front-line command for an area under emergency lockdown (前线指挥).
#[derive(Debug, Parser)]
#[command(name = "frontline", version, about, propagate_version = true)]
pub struct Cli {
    /// Database URL: sqlite://PATH (default ./frontline.db) or postgres://USER@HOST/DB.
    #[arg(long, global = true, env = "FRONTLINE_DATABASE_URL", hide_env_values = true)]
    pub database: Option<String>,
    /// Configuration file (TOML). Default: ./frontline.toml when it exists.
    #[arg(long, global = true, env = "FRONTLINE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log format.
    #[arg(long, global = true, env = "FRONTLINE_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web UI and the API.
    Serve(ServeArgs),
    /// Run a demo district: seeds a synthetic one on first run, then serves it.
    Demo(DemoArgs),
    /// Apply pending database migrations.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Show configuration.
    Config(ConfigArgs),
    /// Import data from files.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Census rounds: confirm a round, and the people who left.
    #[command(subcommand)]
    Census(CensusCommand),
    /// Generate files for tests and benchmarks.
    #[command(subcommand)]
    Generate(GenerateCommand),
    /// Measure performance side by side with the machine's own limits.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// The lab: tubes awaiting a result, and a result recorded in error corrected.
    #[command(subcommand)]
    Lab(LabCommand),
}

/// `frontline lab …`.
#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// List tubes awaiting a result, oldest first; overdue ones are marked.
    Tubes {
        /// Only this round's tubes.
        #[arg(long)]
        round: Option<i64>,
        /// Only overdue tubes.
        #[arg(long)]
        overdue: bool,
    },
    /// Correct a tube's result recorded in error (audited as `cli`): retests
    /// and the missed list follow, and the people affected are printed.
    Correct {
        /// The tube's barcode.
        tube: String,
        /// The right result: negative, abnormal or invalid.
        result: String,
        /// Why the recorded result was wrong (required).
        #[arg(long)]
        reason: String,
    },
}

/// `frontline bench …`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Census import: N rows into an empty database, then the same N rows again matched
    /// against the N residents the first created; beside `sqlite3 .import` and PostgreSQL `COPY`.
    Census {
        /// Rows of the generated file.
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        /// Working directory (default: a new one under the system temp dir).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// A PostgreSQL server to measure too (a scratch database is created and dropped),
        /// e.g. postgres://postgres@127.0.0.1:5432/postgres.
        #[arg(long, env = "FRONTLINE_BENCH_PG")]
        pg: Option<String>,
    },
    /// Single scans over HTTP from 64 keep-alive connections (wrk) beside bare axum handlers,
    /// in alternating runs. It seeds its own SQLite database in a new directory under the
    /// system temp dir, removed at the end (`--database` and `FRONTLINE_DATABASE_URL` do not apply).
    HttpScans {
        /// Residents to seed.
        #[arg(long, default_value_t = 1_000_000)]
        residents: usize,
        /// Seconds per measurement. Each run has its own slice of residents (at most
        /// 250,000): a run that outlasts it measures refusals, and the bench says so.
        #[arg(long, default_value_t = 4)]
        seconds: u32,
        /// Concurrent connections.
        #[arg(long, default_value_t = 64)]
        connections: u32,
        /// Alternating runs of the three servers (the medians are reported).
        #[arg(long, default_value_t = 4)]
        rounds: u32,
    },
    /// Sampling scans: batch ingest through the scan writer, and coverage reads, with N residents seeded.
    Scans {
        /// Residents to seed (one scan each).
        #[arg(long, default_value_t = 1_000_000)]
        residents: usize,
        /// Scans per batch (what an offline phone or a busy server groups).
        #[arg(long, default_value_t = 5_000)]
        batch: usize,
        /// Database URL (default: a new SQLite file in the temp dir).
        #[arg(long)]
        database: Option<String>,
    },
}

/// `frontline import …`.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import a census sheet (CSV in UTF-8 or GB18030, XLSX, XLS) as a round.
    /// Exit status: 0 when written (or a dry run), 2 when refused rows kept it
    /// from being written (use --accept-valid to write the valid rows), 1 on errors.
    Census(ImportCensusArgs),
}

/// `frontline import census`.
#[derive(Debug, Args)]
pub struct ImportCensusArgs {
    /// The file.
    pub file: PathBuf,
    /// The round's name (unique per compound), e.g. 第二轮.
    #[arg(long)]
    pub round: String,
    /// The compound the sheet covers (created when new).
    #[arg(long)]
    pub compound: String,
    /// Where the sheet comes from; column mappings are saved per source (default: the compound).
    #[arg(long)]
    pub source: Option<String>,
    /// Check and count everything, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write the valid rows even when some rows are refused.
    #[arg(long)]
    pub accept_valid: bool,
    /// Print one JSON object with the counts instead of a readable summary.
    #[arg(long)]
    pub json: bool,
    /// Write the validation report (every refused row and warning) to this XLSX file.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// What the round is reconciled within. Default: the sheet's buildings when other
    /// buildings of the compound hold residents, else the whole compound.
    #[arg(long, value_enum)]
    pub scope: Option<ScopeArg>,
}

/// `--scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScopeArg {
    /// Every building of the compound: everyone without a row counts as gone.
    Compound,
    /// Only the buildings the sheet covers.
    Buildings,
}

impl ScopeArg {
    /// The store's scope.
    pub fn scope(self) -> frontline_store::census::Scope {
        match self {
            ScopeArg::Compound => frontline_store::census::Scope::Compound,
            ScopeArg::Buildings => frontline_store::census::Scope::Buildings,
        }
    }
}

/// `frontline census …`.
#[derive(Debug, Subcommand)]
pub enum CensusCommand {
    /// Confirm a round committed before rounds were confirmed on import: the people it
    /// reports gone (no row at all, within its scope) leave the base numbers and
    /// sampling rounds' expected counts.
    Confirm {
        /// The round's id.
        round: i64,
    },
    /// Bring a resident who left back into the household they left.
    Restore {
        /// The resident's id.
        resident: i64,
    },
    /// Change why a resident left: moved_out, away, deceased or transferred.
    State {
        /// The resident's id.
        resident: i64,
        /// The state.
        state: String,
    },
}

/// `frontline generate …`.
#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// Write a census CSV of one compound of the synthetic district `frontline demo` seeds: the
    /// same people at the same addresses, so that importing it into the demo as a later round
    /// matches them. With --rows, write N rows of a synthetic district of N people instead
    /// (for benchmarks: buildings numbered across the whole district).
    CensusFile {
        /// Where to write it.
        out: PathBuf,
        /// Write N rows of a synthetic district of N people instead of one compound of the demo's.
        #[arg(long)]
        rows: Option<usize>,
        /// Residents of the district (as `demo --residents`).
        #[arg(long, default_value_t = 30_000)]
        residents: usize,
        /// Seed of the district (as `demo --seed`: the same seed gives the same people).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The date the demo was seeded with (as `demo --today`; default today): birth dates
        /// are laid out from it, so it must match for the people to match.
        #[arg(long)]
        today: Option<String>,
        /// The compound to write (default: the district's first; its name is printed).
        #[arg(long)]
        compound: Option<String>,
        /// Make it a later round's messy sheet: about 3% moved out, 2% newcomers, a few names
        /// mistyped, ID numbers with full-width digits, dashes or lost to number cells (refused),
        /// 15-digit IDs, short phones, blank rows, duplicate rows, one ID number repeated under
        /// another name, a 合计 totals row and a title row.
        #[arg(long)]
        messy: bool,
        /// Encode as GB18030 instead of UTF-8.
        #[arg(long)]
        gbk: bool,
    },
}

/// `frontline serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default from the configuration: 127.0.0.1:8080).
    #[arg(long, env = "FRONTLINE_LISTEN")]
    pub listen: Option<String>,
}

/// `frontline demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory for the demo's data (the database file lives here).
    #[arg(long, default_value = "./demo-data")]
    pub data: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// How many residents to generate on first run.
    #[arg(long, default_value_t = 30_000)]
    pub residents: usize,
    /// Seed of the generator: the same seed gives the same district.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The date ages are computed against (YYYY-MM-DD; default today).
    #[arg(long)]
    pub today: Option<String>,
    /// Seed the data, print the accounts and exit without serving.
    #[arg(long)]
    pub no_serve: bool,
}

/// `frontline user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. The password is read from standard input with
    /// --password-stdin, or generated and printed once.
    Add {
        /// Login name.
        username: String,
        /// Role: commander, deputy, group_lead, staff, volunteer, checkpoint, lab.
        #[arg(long)]
        role: String,
        /// Display name (default: the login name).
        #[arg(long)]
        display_name: Option<String>,
        /// Working group code (community_service, sampling, …).
        #[arg(long)]
        group: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts.
    List,
    /// Disable an account and end its sessions.
    Disable {
        /// Login name.
        username: String,
    },
    /// Enable a disabled account.
    Enable {
        /// Login name.
        username: String,
    },
    /// Put an account in a team (小队); a volunteer sees and scans the
    /// buildings that open sampling rounds assign to their team.
    Team {
        /// Login name.
        username: String,
        /// The team's name as rounds assign it (`一队`); leave out to clear it.
        team: Option<String>,
    },
    /// Put an account in a working group (out of any other, and of leading
    /// it); leave the group out to take the account out of its group.
    Group {
        /// Login name.
        username: String,
        /// The group's code (community_service, sampling, …).
        group: Option<String>,
    },
    /// Make a member the leader (组长) of a working group; leave the login
    /// name out to leave the group without a leader.
    Leader {
        /// The group's code (community_service, sampling, …).
        group: String,
        /// Login name of one of the group's members.
        username: Option<String>,
    },
    /// Set a new password (from standard input with --password-stdin, or generated).
    ResetPassword {
        /// Login name.
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// `frontline config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Print the full annotated default configuration.
    #[arg(long)]
    pub default: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_database_flag_works_after_the_subcommand() {
        let cli = Cli::try_parse_from(["frontline", "migrate", "--database", "sqlite://x.db"]).expect("parse");
        assert_eq!(cli.database.as_deref(), Some("sqlite://x.db"));
        assert!(matches!(cli.command, Command::Migrate));
    }

    #[test]
    fn demo_defaults() {
        let cli = Cli::try_parse_from(["frontline", "demo"]).expect("parse");
        let Command::Demo(d) = cli.command else { panic!("demo expected") };
        assert_eq!((d.residents, d.listen.as_str()), (30_000, "127.0.0.1:8080"));
    }
}
