//! TCP (IPv4/IPv6) and Unix domain stream sockets behind one type.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
#[cfg(unix)]
use std::os::unix::net::{UnixListener, UnixStream};
#[cfg(unix)]
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::tls::TlsStream;

/// The error for a Unix domain socket (`./u:` location) asked for on a system without them:
/// kind [`io::ErrorKind::Unsupported`].
#[cfg(not(unix))]
fn unix_sockets_unavailable() -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, "Unix domain sockets are not available on this platform")
}

/// The address of the Unix domain socket `path` names: a file, or on Linux and Android a
/// name in the abstract namespace when `path` starts with a NUL byte (as Python's
/// `Daemon(unixsocket="\0name")` and `PYRO:obj@./u:\0name`). Elsewhere such a name is an
/// [`io::ErrorKind::Unsupported`] error.
#[cfg(unix)]
fn unix_address(path: &Path) -> io::Result<std::os::unix::net::SocketAddr> {
    use std::os::unix::ffi::OsStrExt;
    match path.as_os_str().as_bytes() {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        [0, name @ ..] => {
            #[cfg(target_os = "android")]
            use std::os::android::net::SocketAddrExt;
            #[cfg(target_os = "linux")]
            use std::os::linux::net::SocketAddrExt;
            std::os::unix::net::SocketAddr::from_abstract_name(name)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        [0, ..] => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "Unix sockets in the abstract namespace (a name starting with a NUL byte) exist only on Linux",
        )),
        _ => std::os::unix::net::SocketAddr::from_pathname(path),
    }
}

/// Whether `path` names a socket in the abstract namespace (no file to remove).
#[cfg(unix)]
fn is_abstract(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().first() == Some(&0)
}

/// A listening socket.
#[derive(Debug)]
pub(crate) enum Listener {
    /// The listener, and whether accepted connections get `TCP_NODELAY`.
    Tcp(TcpListener, bool),
    #[cfg(unix)]
    Unix(UnixListener, PathBuf),
}

/// A connected socket: a client of a daemon ([`Daemon::accept`](crate::Daemon::accept)).
/// Read and write it (also through `&Stream`); on Unix watch it by its descriptor.
#[derive(Debug)]
pub enum Stream {
    /// TCP, IPv4 or IPv6.
    Tcp(TcpStream),
    /// A Unix domain socket.
    #[cfg(unix)]
    Unix(UnixStream),
    /// TLS (Pyro's `SSL`) over one of the others.
    Tls(Box<TlsStream>),
}

/// A daemon's listening socket, duplicated ([`Daemon::listener_socket`](crate::Daemon::listener_socket)).
#[derive(Debug)]
pub enum ListenerSocket {
    /// TCP, IPv4 or IPv6.
    Tcp(TcpListener),
    /// A Unix domain socket.
    #[cfg(unix)]
    Unix(UnixListener),
}

#[cfg(unix)]
impl std::os::fd::AsFd for ListenerSocket {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            Self::Tcp(l) => l.as_fd(),
            Self::Unix(l) => l.as_fd(),
        }
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for Stream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.raw_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for Stream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsFd;
        self.raw_fd().as_fd().as_raw_fd()
    }
}

impl Listener {
    /// Bind TCP on `host:port` (port 0 picks a free one), with `SO_REUSEADDR` as `reuse`
    /// says (Pyro's `SOCK_REUSE`); accepted connections get `TCP_NODELAY` as `nodelay` says.
    pub(crate) fn bind_tcp(host: &str, port: u16, reuse: bool, nodelay: bool) -> io::Result<Self> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        // Prefer what Python's socket would pick first for the name: the resolver's order.
        let mut last = io::Error::new(io::ErrorKind::NotFound, format!("no address for {host}"));
        for addr in (host, port).to_socket_addrs()? {
            match bind_one(addr, reuse) {
                Ok(listener) => return Ok(Self::Tcp(listener, nodelay)),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Bind a Unix domain socket at `path` (an old socket file there is replaced), or in
    /// the abstract namespace when `path` starts with a NUL byte.
    #[cfg(unix)]
    pub(crate) fn bind_unix(path: PathBuf) -> io::Result<Self> {
        let address = unix_address(&path)?;
        if !is_abstract(&path)
            && std::fs::symlink_metadata(&path).is_ok_and(|m| {
                use std::os::unix::fs::FileTypeExt;
                m.file_type().is_socket()
            })
        {
            std::fs::remove_file(&path)?;
        }
        Ok(Self::Unix(UnixListener::bind_addr(&address)?, path))
    }

    /// Unix domain sockets exist only on Unix: [`unix_sockets_unavailable`].
    #[cfg(not(unix))]
    pub(crate) fn bind_unix(_path: PathBuf) -> io::Result<Self> {
        Err(unix_sockets_unavailable())
    }

    /// A duplicate of the listening socket.
    pub(crate) fn duplicate(&self) -> io::Result<ListenerSocket> {
        match self {
            Self::Tcp(l, _) => Ok(ListenerSocket::Tcp(l.try_clone()?)),
            #[cfg(unix)]
            Self::Unix(l, _) => Ok(ListenerSocket::Unix(l.try_clone()?)),
        }
    }

    pub(crate) fn local_port(&self) -> Option<u16> {
        match self {
            Self::Tcp(l, _) => l.local_addr().ok().map(|a| a.port()),
            #[cfg(unix)]
            Self::Unix(..) => None,
        }
    }

    pub(crate) fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Self::Tcp(l, _) => l.set_nonblocking(on),
            #[cfg(unix)]
            Self::Unix(l, _) => l.set_nonblocking(on),
        }
    }

    pub(crate) fn accept(&self) -> io::Result<(Stream, Option<SocketAddr>)> {
        match self {
            Self::Tcp(l, nodelay) => {
                let (s, addr) = l.accept()?;
                s.set_nonblocking(false)?;
                let _ = s.set_nodelay(*nodelay);
                Ok((Stream::Tcp(s), Some(addr)))
            }
            #[cfg(unix)]
            Self::Unix(l, _) => {
                let (s, _) = l.accept()?;
                s.set_nonblocking(false)?;
                Ok((Stream::Unix(s), None))
            }
        }
    }

    #[cfg(unix)]
    pub(crate) fn raw_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        match self {
            Self::Tcp(l, _) => l.as_fd(),
            Self::Unix(l, _) => l.as_fd(),
        }
    }

    /// Wake a thread blocked in `accept` by connecting once.
    pub(crate) fn wake(&self) {
        match self {
            Self::Tcp(l, _) => {
                if let Ok(mut addr) = l.local_addr() {
                    if addr.ip().is_unspecified() {
                        addr.set_ip(if addr.is_ipv4() {
                            std::net::Ipv4Addr::LOCALHOST.into()
                        } else {
                            std::net::Ipv6Addr::LOCALHOST.into()
                        });
                    }
                    let _ = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
                }
            }
            #[cfg(unix)]
            Self::Unix(_, path) => {
                if let Ok(address) = unix_address(path) {
                    drop(UnixStream::connect_addr(&address));
                }
            }
        }
    }
}

/// A listening TCP socket on `addr`, `SO_REUSEADDR` as `reuse` says.
fn bind_one(addr: SocketAddr, reuse: bool) -> io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(reuse)?;
    socket.bind(&addr.into())?;
    socket.listen(128)?;
    Ok(socket.into())
}

impl Drop for Listener {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Self::Unix(_, path) = self
            && !is_abstract(path)
        {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Stream {
    /// Connect to `host:port` over TCP, trying each address the name resolves to (only
    /// IPv4 ones when `ip_version` is 4, only IPv6 ones when 6: Pyro's `PREFER_IP_VERSION`),
    /// with `TCP_NODELAY` as `nodelay` says (`SOCK_NODELAY`).
    pub(crate) fn connect_tcp(
        host: &str,
        port: u16,
        timeout: Option<Duration>,
        ip_version: i64,
        nodelay: bool,
    ) -> io::Result<Self> {
        let mut last = io::Error::new(io::ErrorKind::NotFound, format!("no address for {host}"));
        let wanted = |addr: &SocketAddr| match ip_version {
            4 => addr.is_ipv4(),
            6 => addr.is_ipv6(),
            _ => true,
        };
        for addr in (host, port).to_socket_addrs()?.filter(wanted) {
            let attempt = match timeout {
                Some(t) => TcpStream::connect_timeout(&addr, t),
                None => TcpStream::connect(addr),
            };
            match attempt {
                Ok(s) => {
                    let _ = s.set_nodelay(nodelay);
                    return Ok(Self::Tcp(s));
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Connect to a Unix domain socket (in the abstract namespace when `path` starts with
    /// a NUL byte).
    #[cfg(unix)]
    pub(crate) fn connect_unix(path: &str) -> io::Result<Self> {
        Ok(Self::Unix(UnixStream::connect_addr(&unix_address(Path::new(path))?)?))
    }

    /// Unix domain sockets exist only on Unix: [`unix_sockets_unavailable`].
    #[cfg(not(unix))]
    pub(crate) fn connect_unix(_path: &str) -> io::Result<Self> {
        Err(unix_sockets_unavailable())
    }

    pub(crate) fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.set_read_timeout(t),
            #[cfg(unix)]
            Self::Unix(s) => s.set_read_timeout(t),
            Self::Tls(s) => s.socket().set_read_timeout(t),
        }
    }

    pub(crate) fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.set_write_timeout(t),
            #[cfg(unix)]
            Self::Unix(s) => s.set_write_timeout(t),
            Self::Tls(s) => s.socket().set_write_timeout(t),
        }
    }

    pub(crate) fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.set_nonblocking(on),
            #[cfg(unix)]
            Self::Unix(s) => s.set_nonblocking(on),
            Self::Tls(s) => s.socket().set_nonblocking(on),
        }
    }

    pub(crate) fn shutdown(&self) {
        match self {
            Self::Tcp(s) => drop(s.shutdown(std::net::Shutdown::Both)),
            #[cfg(unix)]
            Self::Unix(s) => drop(s.shutdown(std::net::Shutdown::Both)),
            Self::Tls(s) => s.socket().shutdown(),
        }
    }

    /// Put TLS on an accepted socket (the daemon side; the handshake runs as it is read).
    pub(crate) fn accept_tls(self, config: Option<&Arc<rustls::ServerConfig>>) -> io::Result<Self> {
        match config {
            Some(config) => Ok(Self::Tls(Box::new(TlsStream::server(self, config.clone())?))),
            None => Ok(self),
        }
    }

    /// Put TLS on a connected socket (the proxy side: the handshake is done here, the daemon's
    /// certificate checked for `host`).
    pub(crate) fn connect_tls(self, config: Option<&Arc<rustls::ClientConfig>>, host: &str) -> io::Result<Self> {
        match config {
            Some(config) => Ok(Self::Tls(Box::new(TlsStream::client(self, config.clone(), host)?))),
            None => Ok(self),
        }
    }

    /// A TLS handshake that is not over after [`HANDSHAKE_TIMEOUT`](crate::tls::HANDSHAKE_TIMEOUT):
    /// the next read ends the connection.
    pub(crate) fn handshake_overdue(&self) -> bool {
        match self {
            Self::Tls(s) => s.handshake_overdue(),
            _ => false,
        }
    }

    /// The TCP socket (under TLS too).
    #[cfg_attr(unix, allow(dead_code))]
    pub(crate) fn tcp_socket(&self) -> Option<&TcpStream> {
        match self {
            Self::Tcp(s) => Some(s),
            Self::Tls(s) => s.socket().tcp_socket(),
            #[cfg(unix)]
            Self::Unix(_) => None,
        }
    }

    /// The peer's certificate (DER) on a TLS connection whose handshake is done.
    pub fn peer_certificate(&self) -> Option<Vec<u8>> {
        match self {
            Self::Tls(s) => s.peer_certificate(),
            _ => None,
        }
    }

    /// Whether TLS bytes wait to be written (a full non-blocking socket): write them with
    /// `flush` when it is writable.
    pub fn wants_write(&self) -> bool {
        match self {
            Self::Tls(s) => s.wants_write(),
            _ => false,
        }
    }

    #[cfg(unix)]
    pub(crate) fn raw_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        match self {
            Self::Tcp(s) => s.as_fd(),
            Self::Unix(s) => s.as_fd(),
            Self::Tls(s) => s.socket().raw_fd(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.read(buf),
            #[cfg(unix)]
            Self::Unix(s) => s.read(buf),
            Self::Tls(s) => (&**s).read(buf),
        }
    }
}

impl Read for &Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => (&*s).read(buf),
            #[cfg(unix)]
            Stream::Unix(s) => (&*s).read(buf),
            Stream::Tls(s) => (&**s).read(buf),
        }
    }
}

impl Write for &Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => (&*s).write(buf),
            #[cfg(unix)]
            Stream::Unix(s) => (&*s).write(buf),
            Stream::Tls(s) => (&**s).write(buf),
        }
    }
    /// Several buffers in one system call (TLS writes its records so, in one segment).
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => (&*s).write_vectored(bufs),
            #[cfg(unix)]
            Stream::Unix(s) => (&*s).write_vectored(bufs),
            Stream::Tls(s) => {
                let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| &**b);
                (&**s).write(first)
            }
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tls(s) => s.flush_tls(),
            _ => Ok(()),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.write(buf),
            #[cfg(unix)]
            Self::Unix(s) => s.write(buf),
            Self::Tls(s) => (&**s).write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        (&*self).flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(stream: &Stream) -> &TcpStream {
        match stream {
            Stream::Tcp(s) => s,
            _ => panic!("not tcp"),
        }
    }

    #[test]
    fn sock_reuse_and_sock_nodelay_reach_the_sockets() {
        for (reuse, nodelay) in [(true, false), (false, true)] {
            let listener = Listener::bind_tcp("127.0.0.1", 0, reuse, nodelay).unwrap();
            let l = match &listener {
                Listener::Tcp(l, _) => l,
                #[cfg(unix)]
                Listener::Unix(..) => panic!("not tcp"),
            };
            assert_eq!(socket2::SockRef::from(l).reuse_address().unwrap(), reuse);
            let port = listener.local_port().unwrap();
            let client = Stream::connect_tcp("127.0.0.1", port, None, 0, !nodelay).unwrap();
            let (accepted, _) = listener.accept().unwrap();
            assert_eq!(tcp(&accepted).nodelay().unwrap(), nodelay, "accepted");
            assert_eq!(tcp(&client).nodelay().unwrap(), !nodelay, "connected");
        }
    }

    #[test]
    fn prefer_ip_version_filters_the_addresses() {
        let listener = Listener::bind_tcp("127.0.0.1", 0, true, false).unwrap();
        let port = listener.local_port().unwrap();
        assert!(Stream::connect_tcp("127.0.0.1", port, None, 4, false).is_ok());
        assert!(Stream::connect_tcp("127.0.0.1", port, None, 0, false).is_ok());
        assert!(Stream::connect_tcp("127.0.0.1", port, None, 6, false).is_err(), "no IPv6 address");
    }
}
