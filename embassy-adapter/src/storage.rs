//! Static storage for one TCP connection: the socket's buffers and Pyro's message buffers.

/// Everything one connection needs, with no allocator: embassy-net's TCP receive and send
/// buffers (`SOCKET` bytes each) and room for one whole Pyro request and one reply
/// (`MESSAGE` bytes each, header and annotations included: the receive and transmit storage
/// of the core's `ServerConnection`, or of a [`Proxy`](crate::Proxy)). The RAM a connection
/// costs is `2 * SOCKET + 2 * MESSAGE` bytes.
///
/// Serving answers a message that does not fit `MESSAGE` as Pyro5 does a message over its
/// size limit; a proxy reports it as an error.
#[derive(Debug)]
pub struct ConnectionStorage<const SOCKET: usize, const MESSAGE: usize> {
    pub(crate) socket_rx: [u8; SOCKET],
    pub(crate) socket_tx: [u8; SOCKET],
    pub(crate) request: [u8; MESSAGE],
    pub(crate) reply: [u8; MESSAGE],
}

impl<const SOCKET: usize, const MESSAGE: usize> ConnectionStorage<SOCKET, MESSAGE> {
    /// Zeroed storage; `const` so that it can live in a `static`.
    pub const fn new() -> Self {
        Self { socket_rx: [0; SOCKET], socket_tx: [0; SOCKET], request: [0; MESSAGE], reply: [0; MESSAGE] }
    }
}

impl<const SOCKET: usize, const MESSAGE: usize> Default for ConnectionStorage<SOCKET, MESSAGE> {
    fn default() -> Self {
        Self::new()
    }
}
