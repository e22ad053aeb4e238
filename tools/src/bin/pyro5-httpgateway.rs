//! `pyro5-httpgateway`: Pyro's HTTP gateway (`python -m Pyro5.utils.httpgateway`), with the
//! same options, startup lines, URLs, status codes, headers and bodies; requests are served
//! concurrently and the connections to the objects are kept between requests
//! ([`pyro5_tools::httpgateway`], `docs/httpgateway.md`).
//!
//! ```text
//! $ pyro5-httpgateway -e 'Pyro.|test.'
//! Exposing objects with names matching:  Pyro.|test.
//! Connected to name server at:  PYRO:Pyro.NameServer@localhost:9090
//! Pyro HTTP gateway running on http://127.0.0.1:8080/pyro/
//!
//! $ curl 'http://127.0.0.1:8080/pyro/test.echoserver/echo?message=hi'
//! "hi"
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use pyro5_tools::httpgateway::{Gateway, Settings};

/// Pyro http gateway command line launcher.
#[derive(Debug, Parser)]
#[command(name = "pyro5-httpgateway", version)]
struct Args {
    /// hostname to bind server on
    #[arg(short = 'H', long, default_value = "localhost")]
    host: String,
    /// Allow cross origin domain/url
    #[arg(short, long, default_value = "*")]
    cors: String,
    /// port to bind server on
    #[arg(short, long, default_value_t = 8080)]
    port: u16,
    /// a regex of object names to expose (matched at the start of the name)
    #[arg(short, long, default_value = r"http\.")]
    expose: String,
    /// the api key to use to connect to the gateway itself
    #[arg(short, long)]
    gatewaykey: Option<String>,
    /// Pyro timeout value to use (COMMTIMEOUT setting, default PYRO_COMMTIMEOUT or 0: none)
    #[arg(short, long)]
    timeout: Option<f64>,
    /// seconds a client has to send a request's line and headers
    #[arg(long, default_value_t = 30.0)]
    header_timeout: f64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match pyro5_std::config::tool_setup("pyro5-httpgateway") {
        Ok(config) => config,
        Err(code) => return code,
    };
    let Ok(header_timeout) = Duration::try_from_secs_f64(args.header_timeout) else {
        eprintln!("pyro5-httpgateway: invalid header timeout {}", args.header_timeout);
        return ExitCode::FAILURE;
    };
    let settings = Settings {
        expose: args.expose.clone(),
        gateway_key: args.gatewaykey.clone().unwrap_or_default(),
        cors: args.cors.clone(),
        timeout: args.timeout.unwrap_or(config.commtimeout),
        header_timeout,
    };
    let gateway = match Gateway::new(settings, config) {
        Ok(gateway) => Arc::new(gateway),
        Err(e) => {
            eprintln!("pyro5-httpgateway: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("pyro5-httpgateway: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(gateway, &args.host, args.port))
}

async fn run(gateway: Arc<Gateway>, host: &str, port: u16) -> ExitCode {
    if gateway.settings().expose.is_empty() {
        println!("Warning: exposing all objects (no expose regex set)");
    } else {
        println!("Exposing objects with names matching:  {}", gateway.settings().expose);
    }
    match gateway.connect_name_server().await {
        Ok(uri) => println!("Connected to name server at:  {uri}"),
        Err(_) => println!("Not yet connected to a name server."),
    }
    let listener = match bind(host, port).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("pyro5-httpgateway: cannot listen on {host}:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(SocketAddr::V4(addr)) => println!("Pyro HTTP gateway running on http://{}:{}/pyro/", addr.ip(), addr.port()),
        Ok(SocketAddr::V6(addr)) => {
            println!("Pyro HTTP gateway running on http://[{}]:{}/pyro/", addr.ip(), addr.port())
        }
        Err(_) => {}
    }
    match gateway.serve(listener).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pyro5-httpgateway: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Listen on `host`: its IPv4 address first (as Python's server, which binds IPv4 only),
/// else its first address.
async fn bind(host: &str, port: u16) -> std::io::Result<tokio::net::TcpListener> {
    let mut addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await?.collect();
    addrs.sort_by_key(|a| !a.is_ipv4());
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, format!("no address for {host}"));
    for addr in addrs {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => return Ok(listener),
            Err(e) => last = e,
        }
    }
    Err(last)
}
