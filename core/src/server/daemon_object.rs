//! `Pyro.Daemon`, the object every daemon serves about itself (`docs/objects.md`, "The daemon
//! object"). `get_next_stream_item` is served by the connection, which owns the stream's reply.

use core::fmt;

use serde::Serialize;
use serde::ser::{SerializeSeq, Serializer};

use super::Server;
use super::exception::{DAEMON_ERROR, PyException};
use super::object::{ConnectionId, Invocation, Metadata, PyroObject, Qualname};
use super::registry::DAEMON_OBJECT_ID;
use super::reply::{Replied, Reply};
use super::streams::StreamId;

/// The daemon's own object.
pub(crate) struct DaemonObject<'r, 'v> {
    pub server: &'r Server<'v>,
    pub connection: ConnectionId,
}

const METHODS: &[&str] = &["close_stream", "get_metadata", "get_next_stream_item", "info", "ping", "registered"];

impl DaemonObject<'_, '_> {
    /// What `Pyro.Daemon` exposes.
    pub const METADATA: Metadata<'static> =
        Metadata { class_name: "DaemonObject", methods: METHODS, oneway: &[], attrs: &[] };
}

impl PyroObject for DaemonObject<'_, '_> {
    fn metadata(&self) -> Metadata<'static> {
        Self::METADATA
    }

    fn invoke(&mut self, inv: &Invocation<'_>, reply: Reply<'_, '_>) -> Replied {
        let function = Qualname { class_name: "DaemonObject", method: inv.method };
        let params: &[&str] = match inv.method {
            "get_metadata" => &["objectId"],
            "get_next_stream_item" | "close_stream" => &["streamId"],
            _ => &[],
        };
        if let Err(e) = inv.args.check(function, params) {
            return reply.raise(&e);
        }
        let text_arg = match params.first() {
            Some(name) => inv.args.required::<&str>(function, 0, name),
            None => Ok(""),
        };
        match inv.method {
            "ping" => reply.ok(&()),
            "registered" => reply.ok(&Registered(self.server)),
            "info" => {
                let config = self.server.config;
                reply.ok(&super::session::Text(&Info {
                    location: config.location,
                    nat: config.nat_location,
                    count: self.server.registry.count() + 1,
                    server_type: config.server_type,
                }))
            }
            "get_metadata" => match text_arg {
                Err(e) => reply.raise(&e),
                Ok(id) => self.metadata_of(id, reply),
            },
            "close_stream" => match text_arg {
                Err(e) => reply.raise(&e),
                Ok(id) => {
                    if let Some(id) = StreamId::parse(id) {
                        self.server.streams.remove(&id);
                    }
                    reply.ok(&())
                }
            },
            _ => reply.raise(&PyException::pyro_error("get_next_stream_item cannot be called in a batch")),
        }
    }
}

impl DaemonObject<'_, '_> {
    fn metadata_of(&self, id: &str, reply: Reply<'_, '_>) -> Replied {
        if id == DAEMON_OBJECT_ID {
            return reply.ok(&Self::METADATA);
        }
        let mut reply = Some(reply);
        let mut replied = None;
        self.server.registry.with_object(self.connection, id, &mut |object| {
            if let Some(reply) = reply.take() {
                replied = Some(reply.ok(&object.metadata()));
            }
        });
        match (replied, reply) {
            (Some(done), _) => done,
            (None, Some(reply)) => reply.raise(&PyException::new(DAEMON_ERROR, "unknown object")),
            (None, None) => unreachable_replied(),
        }
    }
}

/// Every path above replies; this one cannot be reached (the reply was taken, so a value
/// was stored). It exists to keep the types honest without a panic.
fn unreachable_replied() -> Replied {
    Replied::reached()
}

/// The registered ids, the daemon's own first (as Python's dict keeps it).
struct Registered<'r, 'v>(&'r Server<'v>);

impl Serialize for Registered<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let registry = self.0.registry;
        let mut seq = s.serialize_seq(Some(registry.count() + 1))?;
        seq.serialize_element(DAEMON_OBJECT_ID)?;
        let mut error = None;
        registry.for_each_id(&mut |id| {
            if error.is_none()
                && let Err(e) = seq.serialize_element(id)
            {
                error = Some(e);
            }
        });
        if let Some(e) = error {
            return Err(e);
        }
        seq.end()
    }
}

/// `info()`'s text.
struct Info<'a> {
    location: &'a str,
    nat: Option<&'a str>,
    count: usize,
    server_type: &'a str,
}

impl fmt::Display for Info<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{DAEMON_OBJECT_ID} bound on {}, NAT ", self.location)?;
        match self.nat {
            Some(nat) => f.write_str(nat)?,
            None => f.write_str("None")?,
        }
        write!(f, ", {} objects registered. Servertype: {}", self.count, self.server_type)
    }
}
