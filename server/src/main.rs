//! `strata`: the DynamoDB-compatible server, and inspection tools.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "strata", about = "An embeddable DynamoDB: server and tools")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serves DynamoDB's and DynamoDB Streams' API over HTTP (the default).
    Serve(ServeArgs),
    /// Prints a database's statistics (levels, memtables, cache, keyspaces).
    Stats {
        /// The data directory.
        dir: PathBuf,
    },
    /// Describes a table (.sst) file, verifying every block's checksum.
    SstDump {
        /// The file.
        file: PathBuf,
        /// Also list every entry.
        #[arg(long)]
        entries: bool,
    },
    /// Lists every edit of a database's manifest.
    ManifestDump {
        /// The data directory.
        dir: PathBuf,
    },
}

#[derive(clap::Args, Clone)]
struct ServeArgs {
    /// Where the data lives.
    #[arg(long, default_value = "strata-data")]
    data_dir: PathBuf,
    /// The port to listen on.
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// The address to bind (loopback by default).
    #[arg(long, default_value = "127.0.0.1")]
    bind: String,
    /// Keep everything in memory (nothing survives the process).
    #[arg(long)]
    in_memory: bool,
    /// Acknowledge writes before they are fsynced (durable against a crash of the server,
    /// not of the machine) — for tests.
    #[arg(long)]
    relaxed_sync: bool,
    /// Seconds a stream shard stays open before child shards take over (DynamoDB: about
    /// four hours).
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    stream_shard_lifetime: u64,
    /// Seconds between time-to-live sweeps (expired items are deleted within about this
    /// long; DynamoDB takes up to a few days).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    ttl_sweep_interval: u64,
    /// Hide items whose time to live has passed from reads before the sweeper deletes them
    /// (DynamoDB returns them until deleted).
    #[arg(long)]
    hide_expired_items: bool,
    /// The region reported in ARNs.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Require AWS SigV4-signed requests with the keys in this file (one
    /// `ACCESS_KEY_ID SECRET` per line); by default any credentials are accepted.
    #[arg(long)]
    credentials: Option<PathBuf>,
    /// Log level (error, warn, info, debug, trace).
    #[arg(long, default_value = "info")]
    log: String,
}

impl Default for ServeArgs {
    fn default() -> Self {
        ServeArgs {
            data_dir: "strata-data".into(),
            port: 8000,
            bind: "127.0.0.1".into(),
            in_memory: false,
            relaxed_sync: false,
            stream_shard_lifetime: 3600,
            ttl_sweep_interval: 10,
            hide_expired_items: false,
            region: "us-east-1".into(),
            credentials: None,
            log: "info".into(),
        }
    }
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("strata: {e}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => serve(args),
        Command::Stats { dir } => {
            let db = strata_engine::Db::open(
                &dir,
                strata_engine::Options::default().create_if_missing(false),
            )?;
            println!("{:#?}", db.stats());
            println!("keyspaces: {:?}", db.keyspace_names());
            Ok(())
        }
        Command::SstDump { file, entries } => {
            print!("{}", strata_engine::inspect::dump_table(&file, entries)?);
            Ok(())
        }
        Command::ManifestDump { dir } => {
            print!("{}", strata_engine::inspect::dump_manifest(&dir)?);
            Ok(())
        }
    }
}

fn serve(args: ServeArgs) -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&args.log))
        .init();
    let started = std::time::Instant::now();
    let mut opts = strata_engine::Options::default();
    let dir = if args.in_memory {
        opts = opts.file_system(Arc::new(strata_engine::fs::MemFs::new()));
        PathBuf::from("/strata")
    } else {
        args.data_dir.clone()
    };
    let table_opts = strata_table::DatabaseOptions::new()
        .sync_writes(!args.relaxed_sync && !args.in_memory)
        .defer_sync_wait(true)
        .stream_shard_lifetime(std::time::Duration::from_secs(args.stream_shard_lifetime))
        .ttl_sweep_interval(std::time::Duration::from_secs(args.ttl_sweep_interval))
        .hide_expired_items(args.hide_expired_items);
    let db = strata_table::Database::open_with(&dir, opts, table_opts)?;
    let db = Arc::new(db);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind((args.bind.as_str(), args.port)).await?;
        tracing::info!(
            "strata listening on http://{} (data: {}, {} ms to start)",
            listener.local_addr()?,
            if args.in_memory {
                "in memory".to_owned()
            } else {
                dir.display().to_string()
            },
            started.elapsed().as_millis()
        );
        let mut server = strata_server::Server::new(db.clone(), args.region.clone());
        if let Some(path) = &args.credentials {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("reading {}: {e}", path.display()))?;
            let creds = strata_server::sigv4::load_credentials(&text)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            server = server.with_credentials(creds);
        }
        let server = Arc::new(server);
        server.run(listener, shutdown_signal()).await?;
        tracing::info!("shutting down");
        Ok::<(), Box<dyn std::error::Error>>(())
    })?;
    // The last handle closes the database: background work finished, WAL synced.
    drop(db);
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
