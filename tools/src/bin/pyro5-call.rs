//! `pyro5-call`: call a method of any Pyro5 object from the command line, as grpcurl does
//! for gRPC. Python Pyro5 has no such tool; it talks to Python daemons and to ours alike.
//!
//! ```text
//! pyro5-call PYRO:test.echoserver@localhost:9999 echo --arg "'hello'"
//! 'hello'
//! pyro5-call PYRO:test.echoserver@localhost:9999 echo --kwarg "message={'a': [1, 2.5, None]}"
//! {'a': [1, 2.5, None]}
//! pyro5-call PYRO:test.echoserver@localhost:9999 --meta
//! methods: __dunder__ echo error error_with_text generator inf nan oneway_echo oneway_slow shutdown slow
//! oneway: oneway_echo oneway_slow
//! attrs: verbose
//! pyro5-call PYRO:test.echoserver@localhost:9999 generator --stream
//! 'one'
//! 'two'
//! 'three'
//! pyro5-call PYRO:test.echoserver@localhost:9999 --set verbose=True
//! pyro5-call PYRO:test.echoserver@localhost:9999 --get verbose
//! True
//! ```
//!
//! Argument values are Python literals, read by `pyro5-core`'s serpent parser (what Python's
//! `ast.literal_eval` accepts): `42`, `2.5`, `'text'` (strings need their quotes; the shell
//! needs its own around them), `b'raw'`, `None`, `True`, `[1, 2]`, `(1,)`, `{'k': 1}`,
//! `{1, 2}`, `1+2j`. `--arg-str` and `--kwarg-str` take plain text as a string. Positional
//! arguments keep the order they were given in, `--arg` and `--arg-str` mixed.
//!
//! Results are printed as Python's `repr` prints them, one per line (each item of a stream
//! on its own line); a oneway call and `--set` print nothing.
//!
//! Exit status: 0 on success; 1 when the remote method raised — its remote traceback
//! (`Traceback (most recent call last):` ... `Class: message`) goes to stderr; 2 for
//! everything else (usage, connection, protocol errors), with a one-line message on stderr.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser};
use pyro5_std::core::ser::serpent;
use pyro5_std::core::ser::value::Value;
use pyro5_std::{Config, Proxy, ProxyError, RemoteError, Serializer};
use serde::Serialize;

/// Call a method of a Pyro5 object and print the result as a Python literal.
#[derive(Debug, Parser)]
#[command(name = "pyro5-call", version, after_help = AFTER_HELP)]
struct Args {
    /// The object's URI: PYRO:object@host:port or PYRO:object@./u:socketpath
    uri: String,
    /// The method to call
    #[arg(required_unless_present_any = ["meta", "get", "set"], conflicts_with_all = ["meta", "get", "set"])]
    method: Option<String>,
    /// A positional argument as a Python literal: 42, 'text', [1, 2], {'k': None}, b'raw'
    #[arg(long = "arg", value_name = "VALUE", allow_hyphen_values = true)]
    args: Vec<String>,
    /// A positional argument that is a string, given as plain text (no quotes)
    #[arg(long = "arg-str", value_name = "TEXT", allow_hyphen_values = true)]
    arg_strs: Vec<String>,
    /// A keyword argument, the value a Python literal
    #[arg(long = "kwarg", value_name = "NAME=VALUE", allow_hyphen_values = true)]
    kwargs: Vec<String>,
    /// A keyword argument that is a string, given as plain text
    #[arg(long = "kwarg-str", value_name = "NAME=TEXT", allow_hyphen_values = true)]
    kwarg_strs: Vec<String>,
    /// The serializer: serpent, marshal, json or msgpack (default: PYRO_SERIALIZER, else serpent)
    #[arg(long, value_parser = parse_serializer)]
    serializer: Option<Serializer>,
    /// Give up on connecting or on the reply after this many seconds (default: PYRO_COMMTIMEOUT, else never)
    #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
    timeout: Option<Duration>,
    /// Send the call oneway: do not wait for a result
    #[arg(long, conflicts_with = "stream")]
    oneway: bool,
    /// List what the object exposes (methods, oneway methods, attributes) without calling
    #[arg(long)]
    meta: bool,
    /// The method returns an iterator: print each item on its own line as it comes
    #[arg(long)]
    stream: bool,
    /// Read the attribute (property) ATTR
    #[arg(long, value_name = "ATTR", conflicts_with_all = ["set", "meta"])]
    get: Option<String>,
    /// Write the attribute (property) ATTR, the value a Python literal
    #[arg(long, value_name = "ATTR=VALUE", conflicts_with = "meta")]
    set: Option<String>,
    /// Handshake data to connect with, a Python literal (Pyro's default: 'hello')
    #[arg(long, value_name = "VALUE")]
    handshake: Option<String>,
}

const AFTER_HELP: &str = "\
Examples:
  pyro5-call PYRO:test.echoserver@localhost:9999 echo --arg \"'hello'\"
  pyro5-call PYRO:test.echoserver@localhost:9999 echo --kwarg \"message=[1, 2.5, None]\" --serializer json
  pyro5-call PYRO:test.echoserver@localhost:9999 --meta
  pyro5-call PYRO:test.echoserver@localhost:9999 generator --stream
  pyro5-call PYRO:test.echoserver@localhost:9999 --get verbose

Exit status: 0 success, 1 the remote method raised (traceback on stderr), 2 any other error.";

/// What went wrong, and the exit status it gives.
enum Failure {
    /// The remote method raised: its traceback, status 1.
    Remote(RemoteError),
    /// Anything else: one line, status 2.
    Other(String),
}

impl From<ProxyError> for Failure {
    fn from(e: ProxyError) -> Self {
        match e {
            ProxyError::Remote(e) => Self::Remote(e),
            other => Self::Other(other.to_string()),
        }
    }
}

fn main() -> ExitCode {
    let matches = Args::command().get_matches();
    let args = match Args::from_arg_matches(&matches) {
        Ok(args) => args,
        Err(e) => e.exit(),
    };
    let config = match pyro5_std::config::tool_setup("pyro5-call") {
        Ok(config) => config,
        Err(_) => return ExitCode::from(2),
    };
    match run(&args, &matches, &config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Remote(e)) => {
            let _ = std::io::stderr().write_all(traceback(&e).as_bytes());
            ExitCode::from(1)
        }
        Err(Failure::Other(message)) => {
            eprintln!("pyro5-call: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args, matches: &clap::ArgMatches, config: &Config) -> Result<(), Failure> {
    let positional = positional_args(args, matches)?;
    let kwargs = keyword_args(args)?;
    let mut proxy = Proxy::with_config(&args.uri, config)?;
    if let Some(serializer) = args.serializer {
        proxy.set_serializer(serializer);
    }
    if let Some(timeout) = args.timeout {
        proxy.set_timeout(Some(timeout));
    }
    if let Some(text) = &args.handshake {
        proxy.set_handshake(literal("--handshake", text)?);
    }
    let mut out = std::io::stdout().lock();
    if args.meta {
        let meta = proxy.bind()?;
        let line = |names: &mut dyn Iterator<Item = &String>| names.map(String::as_str).collect::<Vec<_>>().join(" ");
        let text = format!(
            "methods: {}\noneway: {}\nattrs: {}\n",
            line(&mut meta.methods.iter()),
            line(&mut meta.oneway.iter()),
            line(&mut meta.attrs.iter())
        );
        return print(&mut out, &text);
    }
    if let Some(name) = &args.get {
        let value: Value = proxy.get_attr(name)?;
        return print(&mut out, &format!("{}\n", repr(&value)));
    }
    if let Some(assignment) = &args.set {
        let (name, text) = split_assignment("--set", assignment)?;
        let value = literal("--set", text)?;
        proxy.set_attr(name, &value)?;
        return Ok(());
    }
    let Some(method) = args.method.as_deref() else {
        return Err(Failure::Other("no method given (or --meta, --get, --set)".into()));
    };
    if args.stream {
        let iter = proxy.call_iter_value(method, &positional, &kwargs)?;
        for item in iter {
            print(&mut out, &format!("{}\n", repr(&item?)))?;
        }
        return Ok(());
    }
    if args.oneway {
        proxy.set_oneway(method);
    }
    let result = proxy.call_value(method, &positional, &kwargs)?;
    if !args.oneway && !proxy.metadata().is_some_and(|m| m.oneway.contains(method)) {
        print(&mut out, &format!("{}\n", repr(&result)))?;
    }
    Ok(())
}

/// `--arg` and `--arg-str` values, in the order they were given.
fn positional_args(args: &Args, matches: &clap::ArgMatches) -> Result<Vec<Value>, Failure> {
    let mut indexed = Vec::new();
    for (text, index) in args.args.iter().zip(matches.indices_of("args").into_iter().flatten()) {
        indexed.push((index, literal("--arg", text)?));
    }
    for (text, index) in args.arg_strs.iter().zip(matches.indices_of("arg_strs").into_iter().flatten()) {
        indexed.push((index, Value::Str(text.clone())));
    }
    indexed.sort_by_key(|(index, _)| *index);
    Ok(indexed.into_iter().map(|(_, v)| v).collect())
}

/// `--kwarg` and `--kwarg-str` values (a name given twice: the last one counts, as in
/// Python's `f(**{...})` built from them).
fn keyword_args(args: &Args) -> Result<Vec<(String, Value)>, Failure> {
    let mut kwargs: Vec<(String, Value)> = Vec::new();
    let mut put = |name: &str, value: Value| match kwargs.iter_mut().find(|(n, _)| n == name) {
        Some(slot) => slot.1 = value,
        None => kwargs.push((name.to_string(), value)),
    };
    for assignment in &args.kwargs {
        let (name, text) = split_assignment("--kwarg", assignment)?;
        put(name, literal("--kwarg", text)?);
    }
    for assignment in &args.kwarg_strs {
        let (name, text) = split_assignment("--kwarg-str", assignment)?;
        put(name, Value::Str(text.to_string()));
    }
    Ok(kwargs)
}

fn split_assignment<'a>(option: &str, text: &'a str) -> Result<(&'a str, &'a str), Failure> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name, value)),
        _ => Err(Failure::Other(format!("{option} {text:?}: expected NAME=VALUE"))),
    }
}

/// A Python literal, read by serpent's parser.
fn literal(option: &str, text: &str) -> Result<Value, Failure> {
    serpent::from_slice::<Value>(text.as_bytes()).map_err(|e| {
        let hint = if text.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_') {
            " (strings need quotes, e.g. \"'text'\", or use --arg-str / --kwarg-str)"
        } else {
            ""
        };
        Failure::Other(format!("{option} {text:?} is not a Python literal: {e}{hint}"))
    })
}

fn print(out: &mut impl std::io::Write, text: &str) -> Result<(), Failure> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`pyro5-call ... | head`) is no error of ours.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::Other(format!("cannot write the result: {e}"))),
    }
}

/// What goes to stderr for a remote exception: the remote traceback as Python prints it
/// (it ends in the `Class: message` line), or a short one when the daemon sent none.
fn traceback(e: &RemoteError) -> String {
    const HEADER: &str = "Traceback (most recent call last):\n";
    let text = e.traceback_text();
    let mut out = String::new();
    if !text.starts_with(HEADER) {
        out.push_str(HEADER);
    }
    if text.is_empty() {
        out.push_str("  (no remote traceback)\n");
        let _ = writeln!(out, "{}: {}", e.class, message(e));
    } else {
        out.push_str(&text);
        if !text.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// Python's `str(e)` with `repr`'s spacing.
fn message(e: &RemoteError) -> String {
    match e.args.as_slice() {
        [] => String::new(),
        [Value::Str(s)] => s.clone(),
        [one] => repr(one),
        more => repr(&Value::Tuple(more.to_vec())),
    }
}

/// `value` as Python's `repr` writes it. Scalars are serpent's text (which is `repr` for
/// them); containers get `repr`'s spacing; bytes are `b'...'`; NaN and the infinities are
/// `nan`, `inf`, `-inf`.
fn repr(value: &Value) -> String {
    let mut out = String::new();
    write_repr(&mut out, value);
    out
}

fn write_repr(out: &mut String, value: &Value) {
    let items = |out: &mut String, items: &[Value]| {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            write_repr(out, item);
        }
    };
    match value {
        Value::Float(f) if f.is_nan() => out.push_str("nan"),
        Value::Float(f) if f.is_infinite() => out.push_str(if *f > 0.0 { "inf" } else { "-inf" }),
        Value::Bytes(bytes) => write_bytes(out, bytes),
        Value::Tuple(v) => {
            out.push('(');
            items(out, v);
            if v.len() == 1 {
                out.push(',');
            }
            out.push(')');
        }
        Value::List(v) => {
            out.push('[');
            items(out, v);
            out.push(']');
        }
        Value::Set(v) if v.is_empty() => out.push_str("set()"),
        Value::Set(v) => {
            out.push('{');
            items(out, v);
            out.push('}');
        }
        Value::DateTime(timestamp) => {
            out.push_str("datetime.datetime.fromtimestamp(");
            write_repr(out, &Value::Float(*timestamp));
            out.push(')');
        }
        Value::Date(ordinal) => {
            let _ = write!(out, "datetime.date.fromordinal({ordinal})");
        }
        Value::FrozenSet(v) if v.is_empty() => out.push_str("frozenset()"),
        Value::FrozenSet(v) => {
            out.push_str("frozenset({");
            items(out, v);
            out.push_str("})");
        }
        Value::Dict(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, k);
                out.push_str(": ");
                write_repr(out, v);
            }
            out.push('}');
        }
        scalar => {
            let mut ser = serpent::Serializer::without_header(Vec::new());
            match scalar.serialize(&mut ser) {
                Ok(()) => out.push_str(&String::from_utf8_lossy(&ser.into_inner())),
                Err(e) => {
                    let _ = write!(out, "<{e}>");
                }
            }
        }
    }
}

/// Python's `repr` of bytes.
fn write_bytes(out: &mut String, bytes: &[u8]) {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') { '"' } else { '\'' };
    out.push('b');
    out.push(quote);
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\'' if quote == '\'' => out.push_str("\\'"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push(quote);
}

fn parse_serializer(text: &str) -> Result<Serializer, String> {
    text.parse()
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs.is_finite() => Ok(Duration::from_secs_f64(secs)),
        _ => Err(format!("'{text}' is not a positive number of seconds")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msgpack_datetimes_and_dates_print_as_python_expressions_that_make_them() {
        assert_eq!(repr(&Value::DateTime(1_704_164_645.5)), "datetime.datetime.fromtimestamp(1704164645.5)");
        assert_eq!(repr(&Value::Date(738_887)), "datetime.date.fromordinal(738887)");
        let nested = Value::List(vec![Value::Date(1), Value::DateTime(-0.0)]);
        assert_eq!(repr(&nested), "[datetime.date.fromordinal(1), datetime.datetime.fromtimestamp(-0.0)]");
    }
}
