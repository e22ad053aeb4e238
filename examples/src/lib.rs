//! Rust ports of the servers of Pyro5's own examples (Pyro5 5.17's `examples/` folder), each
//! served to the example's unmodified Python client.
//!
//! One binary per example, named as the example's folder: `cargo run -p pyro5-examples
//! --bin attributes` serves what `python server.py` in `examples/attributes` serves (the
//! same names in the name server, instance modes, metadata, error classes and texts), so
//! `python client.py` of that folder runs against it and prints what it prints against
//! Python's server. The tests of this crate (`tests/python_clients.rs`) do exactly that:
//! they fetch Pyro5's source distribution (`scripts/pyro5-examples`, checksum pinned), run
//! each client against Python's server and against ours, and compare the outputs.
//!
//! The examples that need a name server find it as Python's do (`PYRO_NS_HOST`,
//! `PYRO_NS_PORT`, broadcast): start one first with `pyro5-ns` or `python -m
//! Pyro5.nameserver`.
//!
//! This library holds what the servers share: serving classes (objects made per
//! connection, per call or once, Pyro's instance modes) and printing what Python's `serve`
//! prints for them.

#![forbid(unsafe_code)]

use std::error::Error;
use std::io::Write;

use pyro5_std::core::server::{DAEMON_ERROR, PyException, PyroObject};
use pyro5_std::core::wire::CorrelationId;
use pyro5_std::locate::locate_ns;
use pyro5_std::{Config, Daemon, DaemonError, InstanceMode, ObjectProxy};

/// The result of an example's `main`.
pub type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

/// Registers a class in a daemon under an id (or a generated one): gives its URI.
type Register = Box<dyn FnOnce(&Daemon, Option<&str>) -> std::result::Result<String, DaemonError>>;

/// A class for [`serve`]: its Python name (`module.Class`, as Python prints it), how its
/// instances are made, and the name it is served under.
pub struct Class {
    python_name: &'static str,
    name: &'static str,
    register: Register,
}

impl Class {
    /// The class `python_name`, its instances made by `creator` as `mode` says, served as
    /// `name`.
    pub fn new<O, F>(python_name: &'static str, mode: InstanceMode, creator: F, name: &'static str) -> Self
    where
        O: PyroObject + Send + 'static,
        F: Fn() -> O + Send + Sync + 'static,
    {
        let register: Register = Box::new(move |daemon, id| daemon.register_class(mode, creator, id));
        Self { python_name, name, register }
    }
}

/// A daemon made as Python's `Daemon()` makes one: Pyro's configuration items from the
/// environment (`PYRO_HOST`, `PYRO_SERVERTYPE`, ...).
///
/// # Errors
/// A bad configuration item, or the socket's error.
pub fn daemon() -> Result<Daemon> {
    Ok(Daemon::with_config(&Config::from_env()?)?)
}

/// Python's `serve({Class: name, ...}, use_ns=use_ns)` for classes: a daemon, each class
/// registered (under a generated id and its name in the name server, or under its name in
/// the daemon without one), what Python prints (`Object <class '...'>:`, `uri = ...`,
/// `name = ...`, `Pyro daemon running.`), and the request loop. `daemon` is a daemon made
/// beforehand, or `None` for [`daemon`]'s.
///
/// # Errors
/// The socket, an id taken, or the name server not found or failing.
pub fn serve(classes: Vec<Class>, daemon: Option<Daemon>, use_ns: bool) -> Result {
    let daemon = match daemon {
        Some(daemon) => daemon,
        None => self::daemon()?,
    };
    let mut ns = if use_ns { Some(locate_ns(None, None)?) } else { None };
    let mut out = std::io::stdout().lock();
    for Class { python_name, name, register } in classes {
        let uri = register(&daemon, if ns.is_some() { None } else { Some(name) })?;
        writeln!(out, "Object <class '{python_name}'>:\n    uri = {uri}")?;
        if let Some(ns) = &mut ns {
            ns.register(name, &uri, false)?;
            writeln!(out, "    name = {name}")?;
        }
    }
    writeln!(out, "Pyro daemon running.")?;
    out.flush()?;
    drop(out);
    daemon.request_loop()?;
    Ok(())
}

/// A new object id, as Python's daemon makes them: `obj_` and 32 hex digits.
pub fn object_id() -> String {
    format!("obj_{:032x}", fastrand::u128(..))
}

/// What a method that registers a new object returns (Python's `self._pyroDaemon.register`
/// then `return obj`): `object` registered in `daemon` under `id`, answered as a proxy to it
/// (Pyro's autoproxy). A failure raises Pyro's `DaemonError`.
///
/// # Errors
/// The id taken.
pub fn register_proxy<O: PyroObject + Send + 'static>(
    daemon: &Daemon,
    object: O,
    id: &str,
) -> std::result::Result<ObjectProxy, PyException<String>> {
    let daemon_error = |e: DaemonError| PyException::new(DAEMON_ERROR, e.to_string());
    daemon.register(object, Some(id)).map_err(daemon_error)?;
    daemon.proxy_for(id).map_err(daemon_error)
}

/// A socket address as Python's `getpeername()` shows it: `('127.0.0.1', 4711)`, or
/// `('::1', 4711, 0, 0)`.
pub fn python_address(address: std::net::SocketAddr) -> String {
    match address {
        std::net::SocketAddr::V4(a) => format!("('{}', {})", a.ip(), a.port()),
        std::net::SocketAddr::V6(a) => format!("('{}', {}, {}, {})", a.ip(), a.port(), a.flowinfo(), a.scope_id()),
    }
}

/// A correlation id as Python's `uuid.UUID` prints it (`8-4-4-4-12` lowercase hex digits).
pub fn uuid(id: CorrelationId) -> String {
    let hex: String = id.0.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// `(year, month 1-12, day 1-31)` of the day `days` after 1970-01-01 in the proleptic
/// Gregorian calendar.
pub use pyro5_std::civil::date_from_days as civil_from_days;

/// Python's `time.asctime()` of the clock now, read as UTC: `Sun Dec  6 11:50:31 2026`.
pub fn asctime() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    asctime_of(i64::try_from(now.as_secs()).unwrap_or(i64::MAX))
}

/// Python's `time.asctime` of `secs` seconds after the epoch, in UTC.
fn asctime_of(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let days = secs.div_euclid(86_400);
    let time = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = DAYS[usize::try_from(days.rem_euclid(7)).unwrap_or(0)];
    let month = MONTHS[usize::try_from(month - 1).unwrap_or(0)];
    format!("{weekday} {month} {day:2} {:02}:{:02}:{:02} {year}", time / 3600, time / 60 % 60, time % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn asctime_prints_as_python() {
        // 2026-12-06 11:50:31 UTC, a Sunday.
        assert_eq!(super::asctime_of(1_796_557_831), "Sun Dec  6 11:50:31 2026");
        assert_eq!(super::asctime_of(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(super::civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn a_correlation_id_prints_as_a_python_uuid() {
        let id =
            pyro5_std::core::wire::CorrelationId(*b"\x12\x34\x56\x78\x9a\xbc\xde\xf0\x01\x23\x45\x67\x89\xab\xcd\xef");
        assert_eq!(super::uuid(id), "12345678-9abc-def0-0123-456789abcdef");
    }
}
