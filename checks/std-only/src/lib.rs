//! A crate that depends on `pyro5-std` alone, serving and calling an object with the
//! attributes `pyro5-std` re-exports.

use pyro5_std::{ProxyError, expose, proxy};

/// A counter served to Pyro clients.
#[derive(Default)]
pub struct Counter {
    total: i64,
}

#[expose(class = "Counter")]
impl Counter {
    /// Adds `n`, gives the new total.
    fn add(&mut self, n: i64) -> i64 {
        self.total += n;
        self.total
    }

    /// The total.
    #[pyro5(getter)]
    fn total(&self) -> i64 {
        self.total
    }
}

/// The client's view of [`Counter`].
#[proxy]
pub trait CounterApi {
    /// `add(n)`.
    fn add(&mut self, n: i64) -> Result<i64, ProxyError>;
    /// Property `total`.
    #[pyro5(getter)]
    fn total(&mut self) -> Result<i64, ProxyError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use pyro5_std::Daemon;

    #[test]
    fn serve_and_call_through_pyro5_std_alone() {
        let daemon = Daemon::bind_default().unwrap();
        let uri = daemon.register(Counter::default(), Some("counter")).unwrap();
        let serving = daemon.clone();
        let server = std::thread::spawn(move || serving.request_loop());
        let mut counter = CounterApiProxy::new(&uri).unwrap();
        assert_eq!(counter.add(2).unwrap(), 2);
        assert_eq!(counter.add(3).unwrap(), 5);
        assert_eq!(counter.total().unwrap(), 5);
        counter.proxy_mut().release();
        daemon.shutdown();
        server.join().unwrap().unwrap();
    }
}
