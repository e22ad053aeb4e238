use pyro5_macros::proxy;
use pyro5_std::ProxyError;

#[proxy]
trait Receivers {
    /// Fine: `&self` (a proxy threads share) and `&mut self`.
    fn shared(&self) -> Result<u32, ProxyError>;
    fn exclusive(&mut self) -> Result<u32, ProxyError>;
    fn owned(self) -> Result<u32, ProxyError>;
    fn boxed(self: Box<Self>) -> Result<u32, ProxyError>;
    fn associated() -> Result<u32, ProxyError>;
    /// Async among blocking ones: one kind of proxy per trait.
    async fn later(&mut self) -> Result<u32, ProxyError>;
    fn counted<const N: usize>(&mut self) -> Result<u32, ProxyError>;
    /// Fine: a local method may take any receiver.
    fn local(&self) -> u32 {
        1
    }
}

fn main() {}
