//! `pyro5-echoserver`: Pyro's test echo server (`python -m Pyro5.utils.echoserver`), with
//! the same options, object and output, and `--servertype` (`thread`, `multiplex` as
//! Python's, or `tokio`) for the echo server and the name server `-N` starts.

use std::process::ExitCode;
use std::sync::atomic::Ordering;

use clap::Parser;
use pyro5_std::echo::{EchoServer, OBJECT_ID};
use pyro5_std::locate;
use pyro5_std::naming::{AutoClean, AutoCleaner, NameServer};
use pyro5_std::{Config, Daemon, DaemonConfig};
use pyro5_tools::ServerType;

/// Pyro test echo/nameserver command line launcher.
#[derive(Parser, Debug)]
#[command(name = "pyro5-echoserver", version)]
struct Args {
    /// hostname to bind server on
    #[arg(short = 'H', long, default_value = "localhost")]
    host: String,
    /// port to bind server on
    #[arg(short, long, default_value_t = 0)]
    port: u16,
    /// Unix domain socket name to bind server on
    #[arg(short, long)]
    unixsocket: Option<std::path::PathBuf>,
    /// register with nameserver
    #[arg(short, long)]
    naming: bool,
    /// also start a nameserver
    #[arg(short = 'N', long)]
    nameserver: bool,
    /// verbose output
    #[arg(short, long)]
    verbose: bool,
    /// don't output anything
    #[arg(short, long)]
    quiet: bool,
    /// server type: multiplex (as Python's echo server), thread or tokio (pyro5-tokio's async
    /// daemon); the name server of -N runs on it too
    #[arg(long, default_value = "multiplex")]
    servertype: ServerType,
}

fn main() -> ExitCode {
    let mut args = Args::parse();
    let config = match pyro5_std::config::tool_setup("pyro5-echoserver") {
        Ok(config) => config,
        Err(code) => return code,
    };
    if args.verbose {
        args.quiet = false;
    }
    if !args.quiet {
        println!("Starting Pyro's built-in test echo server.");
    }
    // -N: a name server of our own, in this process, on the host's NS port (as Python's
    // echo server starts one); -n registers the echo object in it (or in the one found).
    let mut name_server = None;
    if args.nameserver {
        args.naming = true;
        match start_name_server(&config, &args.host, args.servertype) {
            Ok(started) => name_server = Some(started),
            Err(e) => {
                eprintln!("pyro5-echoserver: cannot start the name server: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let daemon_config = args.servertype.daemon_config(DaemonConfig {
        host: args.host.clone(),
        port: args.port,
        unix_socket: args.unixsocket.clone(),
        ..DaemonConfig::from(&config)
    });
    let daemon = match Daemon::new(daemon_config) {
        Ok(daemon) => daemon,
        Err(e) => {
            let place = args.unixsocket.as_ref().map_or(args.host.clone(), |p| p.display().to_string());
            eprintln!("pyro5-echoserver: cannot bind {place}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let echo = EchoServer::new().with_verbose(args.verbose);
    let must_shutdown = echo.shutdown_flag();
    let uri = match daemon.register_concurrent(echo, Some(OBJECT_ID)) {
        Ok(uri) => uri,
        Err(e) => {
            eprintln!("pyro5-echoserver: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.naming {
        let (host, port) = match &name_server {
            Some(started) => (Some(started.host.as_str()), Some(started.port)),
            None => (None, None),
        };
        let registered = locate::locate_ns_with(&config, host, port).and_then(|mut ns| {
            ns.register(OBJECT_ID, &uri, false)?;
            Ok(ns.proxy().uri().to_string())
        });
        match registered {
            Ok(ns_uri) if args.verbose => {
                println!("using name server at {ns_uri}");
                if name_server.is_some() {
                    // Its own name server runs without a broadcast responder.
                    println!("not using a broadcast server");
                }
            }
            Ok(_) => {}
            Err(e) => {
                eprintln!("pyro5-echoserver: cannot register with the name server: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else if args.verbose {
        println!("not using a name server.");
    }
    if !args.quiet {
        println!("object name: {OBJECT_ID}");
        println!("echo uri: {uri}");
        println!("echoserver running.");
    }
    match pyro5_tools::serve(&daemon, args.servertype, move || !must_shutdown.load(Ordering::Acquire)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pyro5-echoserver: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The name server `-N` started in this process.
struct StartedNameServer {
    host: String,
    port: u16,
    /// Its autoclean thread (`PYRO_NS_AUTOCLEAN`), stopped when this is dropped.
    _cleaner: Option<AutoCleaner>,
}

/// Start a name server on `host` at the name server port (`NS_PORT`) in a thread of this
/// process, served as `server_type` says (Python's echo server runs its name server
/// multiplexed too), with autoclean when `NS_AUTOCLEAN` asks for it (as Python's name
/// server daemon).
fn start_name_server(
    config: &Config,
    host: &str,
    server_type: ServerType,
) -> Result<StartedNameServer, Box<dyn std::error::Error>> {
    let autoclean = AutoClean::from_config(config)?;
    let port = config.ns_port;
    let daemon = Daemon::new(server_type.daemon_config(DaemonConfig {
        host: host.to_string(),
        port,
        ..DaemonConfig::from(config)
    }))?;
    let ns = NameServer::new();
    ns.serve(&daemon)?;
    let cleaner = autoclean.map(|config| ns.start_autoclean(config)).transpose()?;
    let serving = daemon.clone();
    std::thread::spawn(move || pyro5_tools::serve(&serving, server_type, || true));
    let port = daemon.port().unwrap_or(port);
    Ok(StartedNameServer { host: host.to_string(), port, _cleaner: cleaner })
}
