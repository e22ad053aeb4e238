//! `pyro5-echoserver`: Pyro's test echo server (`python -m Pyro5.utils.echoserver`), with
//! the same options, object and output.

use std::process::ExitCode;
use std::sync::atomic::Ordering;

use clap::Parser;
use pyro5_std::echo::{EchoServer, OBJECT_ID};
use pyro5_std::{Daemon, DaemonConfig, ServerType};

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
    /// server type: multiplex (as Python's echo server) or thread
    #[arg(long, default_value = "multiplex")]
    servertype: ServerType,
}

fn main() -> ExitCode {
    let mut args = Args::parse();
    if args.verbose {
        args.quiet = false;
    }
    if args.naming || args.nameserver {
        eprintln!("pyro5-echoserver: the name server options (-n, -N) are not available yet");
        return ExitCode::from(2);
    }
    if !args.quiet {
        println!("Starting Pyro's built-in test echo server.");
    }
    let config = DaemonConfig {
        host: args.host.clone(),
        port: args.port,
        unix_socket: args.unixsocket.clone(),
        server_type: args.servertype,
        ..DaemonConfig::default()
    };
    let daemon = match Daemon::new(config) {
        Ok(daemon) => daemon,
        Err(e) => {
            eprintln!("pyro5-echoserver: cannot bind {}: {e}", args.host);
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
    if args.verbose {
        println!("not using a name server.");
    }
    if !args.quiet {
        println!("object name: {OBJECT_ID}");
        println!("echo uri: {uri}");
        println!("echoserver running.");
    }
    match daemon.request_loop_while(|| !must_shutdown.load(Ordering::Acquire)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pyro5-echoserver: {e}");
            ExitCode::FAILURE
        }
    }
}
