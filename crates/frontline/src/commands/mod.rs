//! Subcommand implementations.

mod bench;
mod bench_http;
mod census;
mod demo;
mod generate;
mod import;
mod lab;
mod serve;
mod user;

use anyhow::Context;
use frontline_store::Store;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command, LogFormat};
use crate::config::{Config, DEFAULT_TOML};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Bench(cmd) = cli.command {
        return bench::run(cmd);
    }
    if let Command::Config(args) = &cli.command {
        if args.default {
            print!("{DEFAULT_TOML}");
        } else {
            let cfg = Config::load(cli.config.as_deref())?;
            println!("{cfg:#?}");
        }
        return Ok(());
    }
    let mut cfg = Config::load(cli.config.as_deref())?;
    if let Some(db) = &cli.database {
        cfg.database_url.clone_from(db);
    }
    if let Some(f) = cli.log_format {
        cfg.log_format = f;
    }
    init_logging(&cfg);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => {
                if let Some(l) = args.listen {
                    cfg.listen = l;
                }
                let store = open(&cfg.database_url).await?;
                serve::serve(store, &cfg, None).await
            }
            Command::Demo(args) => demo::run(cfg, args, cli.database.is_some()).await,
            Command::Migrate => {
                let store = Store::connect(&cfg.database_url).await.context("connecting to the database")?;
                let applied = store.migrate().await?;
                if applied.is_empty() {
                    println!("database is up to date");
                } else {
                    for name in applied {
                        println!("applied {name}");
                    }
                }
                Ok(())
            }
            Command::User(cmd) => {
                let store = open(&cfg.database_url).await?;
                user::run(&store, cmd).await
            }
            Command::Import(crate::cli::ImportCommand::Census(args)) => {
                let store = open(&cfg.database_url).await?;
                let ending = import::census(&store, &cfg, args).await;
                store.close().await;
                match ending? {
                    import::Ending::Done => Ok(()),
                    import::Ending::Refused => std::process::exit(2),
                }
            }
            Command::Census(cmd) => {
                let store = open(&cfg.database_url).await?;
                let done = census::run(&store, cmd).await;
                store.close().await;
                done
            }
            Command::Lab(cmd) => {
                let store = open(&cfg.database_url).await?;
                let done = lab::run(&store, &cfg, cmd).await;
                store.close().await;
                done
            }
            Command::Generate(cmd) => generate::run(cmd, cfg.web.rules.utc_offset_minutes),
            Command::Config(_) | Command::Bench(_) => Ok(()),
        }
    })
}

/// Connects, migrates, and makes sure the default working groups exist.
pub async fn open(url: &str) -> anyhow::Result<Store> {
    let store =
        Store::connect(url).await.with_context(|| format!("connecting to {}", frontline_store::db::redact_url(url)))?;
    store.migrate().await.context("migrating the database")?;
    store.ensure_default_groups().await?;
    Ok(store)
}

fn init_logging(cfg: &Config) {
    let filter = EnvFilter::try_new(&cfg.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match cfg.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Human => builder.try_init(),
    };
}
