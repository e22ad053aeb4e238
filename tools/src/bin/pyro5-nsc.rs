//! `pyro5-nsc`: the name server control tool, as Python's `python -m Pyro5.nsc`: the same
//! options, commands and output, against any Pyro5 name server (Python's or ours).
//!
//! ```text
//! pyro5-nsc [-n HOST] [-p PORT] [-u UNIXSOCKET] [-v] COMMAND [ARGS...]
//!
//! pyro5-nsc -n localhost list
//! --------START LIST
//! Pyro.NameServer --> PYRO:Pyro.NameServer@localhost:9090
//!     metadata: {'class:Pyro5.nameserver.NameServer'}
//! --------END LIST
//! ```
//!
//! Commands: `ping`, `list [prefix]`, `listmatching regex`, `yplookup_all tag...`,
//! `yplookup_any tag...`, `lookup name`, `register name uri`, `remove name`,
//! `removematching regex` (asks for confirmation on stdin), `setmeta name [tag...]`.
//! Without `-n`, the name server is located as Pyro's `locate_ns` does (on this machine,
//! then by broadcast; `-p` is then the broadcast port).
//!
//! As Python's tool: a name server that cannot be found prints `Error: ...` and exits 0;
//! a failing command prints `Error: <class> - <message>` on stdout, the error on stderr and
//! exits 1; missing command arguments print the requirement on stderr and exit 1. Where
//! Python prints a whole traceback on stderr, this prints its last line
//! (`Pyro5.errors.NamingError: unknown name: x`). Metadata sets print in the order the name
//! server sent them (Python prints its own set order). Usage errors are clap's (status 2, as
//! argparse's).

use std::io::{BufRead, Write};
use std::process::ExitCode;

use clap::Parser;
use pyro5_std::ProxyError;
use pyro5_std::locate::{Listing, NameServerProxy, locate_ns_with, python_str_repr};

/// Pyro name server control utility.
#[derive(Debug, Parser)]
#[command(name = "pyro5-nsc", version)]
struct Args {
    /// hostname of the NS
    #[arg(short = 'n', long = "host", default_value = "")]
    host: String,
    /// port of the NS (or bc-port if host isn't specified)
    #[arg(short = 'p', long = "port")]
    port: Option<u16>,
    /// Unix domain socket name of the NS
    #[arg(short = 'u', long = "unixsocket")]
    unixsocket: Option<String>,
    /// verbose output
    #[arg(short = 'v', long = "verbose")]
    verbose: bool,
    /// the command
    #[arg(value_parser = [
        "list", "lookup", "register", "remove", "removematching", "listmatching",
        "yplookup_all", "yplookup_any", "setmeta", "ping",
    ])]
    command: String,
    /// the command's arguments
    #[arg(allow_hyphen_values = true)]
    args: Vec<String>,
}

/// How a command ended short of success.
enum Failure {
    /// Python's `SystemExit(message)`: on stderr, exit status 1.
    Usage(&'static str),
    /// An exception: `Error: <class> - <message>` on stdout, `<module.class>: <message>`
    /// (the last line of Python's traceback) on stderr, exit status 1.
    Error { module: &'static str, class: String, message: String },
}

impl From<ProxyError> for Failure {
    fn from(e: ProxyError) -> Self {
        let class = match &e {
            ProxyError::Remote(remote) => {
                let module = remote.class.strip_suffix(remote.short_class()).unwrap_or("");
                let module = if module.starts_with("Pyro5.errors") { "Pyro5.errors." } else { "" };
                return Failure::Error { module, class: remote.short_class().to_string(), message: remote.message() };
            }
            ProxyError::Naming(_) => "NamingError",
            ProxyError::Connect { .. } | ProxyError::Communication(_) | ProxyError::Rejected { .. } => {
                "CommunicationError"
            }
            ProxyError::ConnectionClosed => "ConnectionClosedError",
            ProxyError::Timeout => "TimeoutError",
            ProxyError::Protocol(_) | ProxyError::Receive(_) => "ProtocolError",
            ProxyError::NotExposed { .. } => "AttributeError",
            _ => "PyroError",
        };
        Failure::Error { module: "Pyro5.errors.", class: class.to_string(), message: e.to_string() }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match pyro5_std::config::tool_setup("pyro5-nsc") {
        Ok(config) => config,
        Err(code) => return code,
    };
    let mut out = std::io::stdout().lock();
    if args.verbose {
        let _ = writeln!(out, "Locating name server...");
    }
    let host = match &args.unixsocket {
        Some(socket) => format!("./u:{socket}"),
        None => args.host.clone(),
    };
    let mut ns = match locate_ns_with(&config, Some(host.as_str()).filter(|h| !h.is_empty()), args.port) {
        Ok(ns) => ns,
        Err(e) => {
            let _ = writeln!(out, "Error: {e}");
            return ExitCode::SUCCESS;
        }
    };
    if args.verbose {
        let _ = writeln!(out, "Name server found: {}", ns.proxy().uri());
    }
    let result = handle_command(&mut ns, &args.command, &args.args, &mut out);
    let _ = out.flush();
    match result {
        Ok(()) => {
            if args.verbose {
                let _ = writeln!(out, "Done.");
            }
            ExitCode::SUCCESS
        }
        Err(Failure::Usage(text)) => {
            eprintln!("{text}");
            ExitCode::FAILURE
        }
        Err(Failure::Error { module, class, message }) => {
            let _ = writeln!(out, "Error: {class} - {message}");
            let _ = out.flush();
            eprintln!("{module}{class}: {message}");
            ExitCode::FAILURE
        }
    }
}

fn handle_command(
    ns: &mut NameServerProxy,
    command: &str,
    args: &[String],
    out: &mut impl Write,
) -> Result<(), Failure> {
    let first = args.first().map(String::as_str);
    match (command, args.len()) {
        ("ping", _) => {
            ns.ping()?;
            say(out, "Name server ping ok.");
        }
        ("list", _) => match first {
            None => print_list(out, &ns.list(None)?, ""),
            Some(prefix) => print_list(out, &ns.list(Some(prefix))?, &format!("- prefix '{prefix}'")),
        },
        ("listmatching", 1) => {
            let pattern = &args[0];
            print_list(out, &ns.list_matching(pattern)?, &format!("- regex '{pattern}'"));
        }
        ("lookup", 1) => {
            let (uri, metadata) = ns.lookup_with_metadata(&args[0])?;
            say(out, &uri);
            if !metadata.is_empty() {
                say(out, &format!("metadata: {}", set_repr(&metadata)));
            }
        }
        ("register", 2) => {
            ns.register(&args[0], &args[1], true)?;
            say(out, &format!("Registered {}", args[0]));
        }
        ("register", _) => return Err(Failure::Usage("requires two arguments: name uri")),
        ("remove", 1) => {
            if ns.remove(&args[0])? > 0 {
                say(out, &format!("Removed {}", args[0]));
            } else {
                say(out, "Nothing removed");
            }
        }
        ("removematching", 1) => {
            let _ = write!(out, "Potentially removing lots of items from the Name server. Are you sure (y/n)?");
            let _ = out.flush();
            let mut answer = String::new();
            match std::io::stdin().lock().read_line(&mut answer) {
                Ok(0) | Err(_) => {
                    let (class, message) = ("EOFError".into(), "EOF when reading a line".into());
                    return Err(Failure::Error { module: "", class, message });
                }
                Ok(_) => {}
            }
            if matches!(answer.trim(), "y" | "Y") {
                let count = ns.remove_matching(&args[0])?;
                say(out, &format!("{count} items removed."));
            }
        }
        ("listmatching" | "removematching", _) => return Err(Failure::Usage("requires one argument: pattern")),
        ("lookup" | "remove", _) => return Err(Failure::Usage("requires one argument: name")),
        ("setmeta", 0) => return Err(Failure::Usage("requires arguments: uri and zero or more meta tags")),
        ("setmeta", _) => {
            let mut tags: Vec<String> = Vec::new();
            for tag in &args[1..] {
                if !tags.contains(tag) {
                    tags.push(tag.clone());
                }
            }
            ns.set_metadata(&args[0], &tags)?;
            say(out, if tags.is_empty() { "Metadata cleared" } else { "Metadata updated" });
        }
        ("yplookup_all" | "yplookup_any", 0) => {
            return Err(Failure::Usage("requires at least one metadata tag argument"));
        }
        ("yplookup_all", _) => print_list(out, &ns.yplookup(Some(args), None)?, " - searched by metadata"),
        ("yplookup_any", _) => print_list(out, &ns.yplookup(None, Some(args))?, " - searched by metadata"),
        _ => return Err(Failure::Usage("unknown command")),
    }
    Ok(())
}

/// A listing as Python's `nsc` prints one: sorted by name, metadata under each entry.
fn print_list(out: &mut impl Write, listing: &Listing, title: &str) {
    say(out, &format!("--------START LIST {title}"));
    for (name, (uri, metadata)) in listing {
        say(out, &format!("{name} --> {uri}"));
        if !metadata.is_empty() {
            say(out, &format!("    metadata: {}", set_repr(metadata)));
        }
    }
    say(out, &format!("--------END LIST {title}"));
}

/// Python's `repr` of a set of strings.
fn set_repr(tags: &[String]) -> String {
    let items: Vec<String> = tags.iter().map(|t| python_str_repr(t)).collect();
    format!("{{{}}}", items.join(", "))
}

fn say(out: &mut impl Write, line: &str) {
    let _ = writeln!(out, "{line}");
}
