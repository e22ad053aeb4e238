use pyro5_macros::proxy;
use pyro5_std::ProxyError;

#[proxy]
trait Generic<T> {
    fn get(&mut self) -> Result<T, ProxyError>;
}

#[proxy]
unsafe trait Unsafe {
    fn get(&mut self) -> Result<u32, ProxyError>;
}

#[proxy]
trait Items {
    type Output;
    const LIMIT: usize;
    fn get(&mut self) -> Result<u32, ProxyError>;
}

#[proxy(class = "Echo")]
trait UnknownArgument {
    fn get(&mut self) -> Result<u32, ProxyError>;
}

#[proxy(name = "not an ident")]
trait BadName {
    fn get(&mut self) -> Result<u32, ProxyError>;
}

#[proxy]
struct NotATrait;

fn main() {}
