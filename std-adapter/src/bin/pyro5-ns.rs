//! `pyro5-ns`: Pyro's name server (`python -m Pyro5.nameserver`), with the same options
//! and output. As Python's, it reads `PYRO_NS_AUTOCLEAN` (seconds; 0 = off, otherwise at
//! least 3): registrations whose server stays unreachable are then removed (see
//! `pyro5_std::naming::AutoCleaner`).

use std::net::ToSocketAddrs;
use std::process::ExitCode;

use clap::Parser;
use pyro5_std::naming::{AutoClean, BroadcastServer, MemoryStorage, NS_BCPORT, NameServer, SqlStorage};
use pyro5_std::{Daemon, DaemonConfig};

/// Pyro name server command line launcher.
#[derive(Parser, Debug)]
#[command(
    name = "pyro5-ns",
    version,
    after_help = "Environment (as Python's name server):\n  \
        PYRO_NS_AUTOCLEAN  seconds between checks of every registration; one whose server cannot\n                     \
        be connected to for 20 s is removed (0 = off, the default; otherwise at least 3)\n  \
        PYRO_COMMTIMEOUT   connection timeout of those checks (0 = 5 s)"
)]
struct Args {
    /// hostname to bind server on
    #[arg(short = 'n', long, default_value = "localhost")]
    host: String,
    /// port to bind server on (0=random)
    #[arg(short, long, default_value_t = 9090)]
    port: u16,
    /// Unix domain socket name to bind server on
    #[arg(short, long)]
    unixsocket: Option<std::path::PathBuf>,
    /// Storage system to use (memory, sql:file)
    #[arg(short, long, default_value = "memory")]
    storage: String,
    /// hostname to bind broadcast server on (default is "")
    #[arg(long)]
    bchost: Option<String>,
    /// port to bind broadcast server on (0=random)
    #[arg(long, default_value_t = NS_BCPORT)]
    bcport: u16,
    /// external hostname in case of NAT
    #[arg(long)]
    nathost: Option<String>,
    /// external port in case of NAT
    #[arg(long, default_value_t = 0)]
    natport: u16,
    /// don't start a broadcast server
    #[arg(short = 'x', long)]
    nobc: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let autoclean = match AutoClean::from_env() {
        Ok(autoclean) => autoclean,
        Err(e) => {
            // Python's name server stops with this ValueError.
            eprintln!("pyro5-ns: {e}");
            return ExitCode::FAILURE;
        }
    };
    let ns = match args.storage.as_str() {
        "memory" => NameServer::with_storage(MemoryStorage::new()),
        other => match other.strip_prefix("sql:").filter(|file| !file.is_empty()) {
            Some(file) => match SqlStorage::open(file) {
                Ok(storage) => NameServer::with_storage(storage),
                Err(e) => {
                    eprintln!("pyro5-ns: cannot open storage {file}: {e}");
                    return ExitCode::FAILURE;
                }
            },
            None => {
                eprintln!("pyro5-ns: invalid storage type '{other}'");
                return ExitCode::from(2);
            }
        },
    };
    let config = DaemonConfig {
        host: args.host.clone(),
        port: args.port,
        unix_socket: args.unixsocket.clone(),
        nat_host: args.nathost.clone(),
        nat_port: args.natport,
        ..DaemonConfig::default()
    };
    let daemon = match Daemon::new(config) {
        Ok(daemon) => daemon,
        Err(e) => {
            eprintln!(
                "pyro5-ns: cannot bind {}: {e}",
                args.unixsocket.as_ref().map_or(args.host.clone(), |p| p.display().to_string())
            );
            return ExitCode::FAILURE;
        }
    };
    let uri = match ns.serve(&daemon) {
        Ok(uri) => uri,
        Err(e) => {
            eprintln!("pyro5-ns: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cleaner = match autoclean.map(|config| ns.start_autoclean(config)).transpose() {
        Ok(cleaner) => cleaner,
        Err(e) => {
            eprintln!("pyro5-ns: cannot start autoclean: {e}");
            return ExitCode::FAILURE;
        }
    };
    let internal_uri = format!("PYRO:{}@{}", pyro5_std::naming::NAMESERVER_NAME, daemon.location());
    let mut broadcast = None;
    let host_ip = if args.unixsocket.is_some() {
        "Unix domain socket".to_string()
    } else {
        let ip = bound_ip(&args.host, args.port);
        let loopback = ip.starts_with("127.") || ip == "localhost" || ip == "::1";
        if ip.contains(':') {
            println!("Not starting broadcast server for IPv6.");
        } else if loopback {
            println!("Not starting broadcast server for localhost.");
        } else if !args.nobc {
            match BroadcastServer::start(&internal_uri, args.bchost.as_deref(), args.bcport) {
                Ok(bc) => {
                    println!("Broadcast server running on {}", bc.local_addr());
                    broadcast = Some(bc);
                }
                Err(e) => {
                    eprintln!("pyro5-ns: cannot start the broadcast server: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        ip
    };
    match ns.count() {
        Ok(existing) if existing > 1 => println!("Persistent store contains {existing} existing registrations."),
        _ => {}
    }
    println!("NS running on {} ({host_ip})", daemon.location());
    if args.nathost.is_some() {
        println!("internal URI = {internal_uri}");
        println!("external URI = {uri}");
    } else {
        println!("URI = {uri}");
    }
    let result = daemon.request_loop();
    if let Some(cleaner) = cleaner {
        cleaner.stop();
    }
    drop(broadcast);
    match result {
        Ok(()) => {
            println!("NS shut down.");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pyro5-ns: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The address `host` binds to, as Python's `sock.getsockname()[0]` shows it.
fn bound_ip(host: &str, port: u16) -> String {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match (bare, port).to_socket_addrs().ok().and_then(|mut a| a.next()) {
        Some(addr) => addr.ip().to_string(),
        None => bare.to_string(),
    }
}
