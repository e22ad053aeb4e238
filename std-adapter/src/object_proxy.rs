//! A registered object returned from a call, travelling as a proxy (Pyro's autoproxy).

use pyro5_core::ser::envelope::ProxyDict;
use pyro5_core::server::Metadata;
use pyro5_core::uri::Uri;
use serde::{Serialize, Serializer};

/// A proxy for an object of this daemon, to return from a method: the Python client gets
/// a `Pyro5.client.Proxy` already bound to the object's metadata. Made by
/// [`Daemon::proxy_for`](crate::Daemon::proxy_for).
#[derive(Clone, Debug)]
pub struct ObjectProxy {
    uri: String,
    metadata: Metadata<'static>,
}

impl ObjectProxy {
    pub(crate) fn new(uri: String, metadata: Metadata<'static>) -> Self {
        Self { uri, metadata }
    }

    /// The object's URI.
    pub fn uri(&self) -> &str {
        &self.uri
    }
}

impl Serialize for ObjectProxy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let uri = Uri::parse(&self.uri).map_err(serde::ser::Error::custom)?;
        ProxyDict {
            uri: &uri,
            oneway: self.metadata.oneway,
            methods: self.metadata.methods,
            attrs: self.metadata.attrs,
            handshake: "hello",
            serializer: None,
        }
        .serialize(s)
    }
}
