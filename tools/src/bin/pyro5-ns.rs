//! `pyro5-ns`: Pyro's name server (`python -m Pyro5.nameserver`), with the same options
//! and output. As Python's, it reads the `PYRO_*` configuration (`docs/configuration.md`):
//! the option defaults come from `HOST`, `NS_PORT`, `NS_BCHOST`, `NS_BCPORT`, `NATHOST`
//! and `NATPORT`; `NS_AUTOCLEAN` (seconds; 0 = off, otherwise at least 3) removes
//! registrations whose server stays unreachable (see `pyro5_std::naming::AutoCleaner`).
//! `--servertype` (not in Python's) picks the loop: `thread` or `multiplex` (default:
//! `SERVERTYPE`, as Python's name server daemon) or `tokio` (`pyro5-tokio`'s async daemon).

use std::net::ToSocketAddrs;
use std::process::ExitCode;

use clap::Parser;
use pyro5_std::naming::{AutoClean, BroadcastServer, MemoryStorage, NameServer, SqlStorage};
use pyro5_std::{Daemon, DaemonConfig};
use pyro5_tools::ServerType;

/// Pyro name server command line launcher.
#[derive(Parser, Debug)]
#[command(
    name = "pyro5-ns",
    version,
    after_help = "Environment (as Python's name server; every PYRO_* item, see docs/configuration.md):\n  \
        PYRO_HOST, PYRO_NS_PORT, PYRO_NS_BCHOST, PYRO_NS_BCPORT, PYRO_NATHOST, PYRO_NATPORT\n                     \
        the defaults of -n, -p, --bchost, --bcport, --nathost, --natport\n  \
        PYRO_NS_AUTOCLEAN  seconds between checks of every registration; one whose server cannot\n                     \
        be connected to for 20 s is removed (0 = off, the default; otherwise at least 3)\n  \
        PYRO_COMMTIMEOUT   connection timeout of those checks (0 = 5 s)"
)]
struct Args {
    /// hostname to bind server on (default: HOST)
    #[arg(short = 'n', long)]
    host: Option<String>,
    /// port to bind server on (0=random; default: NS_PORT)
    #[arg(short, long)]
    port: Option<u16>,
    /// Unix domain socket name to bind server on
    #[arg(short, long)]
    unixsocket: Option<std::path::PathBuf>,
    /// Storage system to use (memory, sql:file)
    #[arg(short, long, default_value = "memory")]
    storage: String,
    /// hostname to bind broadcast server on (default: NS_BCHOST, else "")
    #[arg(long)]
    bchost: Option<String>,
    /// port to bind broadcast server on (0=random; default: NS_BCPORT)
    #[arg(long)]
    bcport: Option<u16>,
    /// external hostname in case of NAT (default: NATHOST)
    #[arg(long)]
    nathost: Option<String>,
    /// external port in case of NAT (default: NATPORT)
    #[arg(long)]
    natport: Option<u16>,
    /// don't start a broadcast server
    #[arg(short = 'x', long)]
    nobc: bool,
    /// server type: thread, multiplex or tokio (pyro5-tokio's async daemon) (default:
    /// SERVERTYPE)
    #[arg(long)]
    servertype: Option<ServerType>,
}

fn main() -> ExitCode {
    let mut args = Args::parse();
    let config = match pyro5_std::config::tool_setup("pyro5-ns") {
        Ok(config) => config,
        Err(code) => return code,
    };
    // Python's option defaults are these config items.
    let host = args.host.take().unwrap_or_else(|| config.host.clone());
    let port = args.port.unwrap_or(config.ns_port);
    let bchost = args.bchost.take().or_else(|| config.ns_bchost.clone());
    let bcport = args.bcport.unwrap_or(config.ns_bcport);
    let nathost = args.nathost.take().or_else(|| config.nathost.clone());
    let natport = args.natport.unwrap_or(config.natport);
    let server_type = args.servertype.unwrap_or(ServerType::from(config.servertype));
    let autoclean = match AutoClean::from_config(&config) {
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
    let daemon_config = server_type.daemon_config(DaemonConfig {
        host: host.clone(),
        port,
        unix_socket: args.unixsocket.clone(),
        nat_host: nathost.clone(),
        nat_port: natport,
        ..DaemonConfig::from(&config)
    });
    let daemon = match Daemon::new(daemon_config) {
        Ok(daemon) => daemon,
        Err(e) => {
            eprintln!(
                "pyro5-ns: cannot bind {}: {e}",
                args.unixsocket.as_ref().map_or(host.clone(), |p| p.display().to_string())
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
        let ip = bound_ip(&host, port);
        let loopback = ip.starts_with("127.") || ip == "localhost" || ip == "::1";
        if ip.contains(':') {
            println!("Not starting broadcast server for IPv6.");
        } else if loopback {
            println!("Not starting broadcast server for localhost.");
        } else if !args.nobc {
            match BroadcastServer::start(&internal_uri, bchost.as_deref(), bcport) {
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
    if nathost.is_some() {
        println!("internal URI = {internal_uri}");
        println!("external URI = {uri}");
    } else {
        println!("URI = {uri}");
    }
    let result = pyro5_tools::serve(&daemon, server_type, || true);
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
