use pyro5_macros::proxy;
use pyro5_std::ProxyError;

type Answer<T> = Result<T, ProxyError>;

#[proxy]
trait Returns {
    fn nothing(&mut self);
    fn plain(&mut self) -> String;
    fn one_type(&mut self) -> std::io::Result<String>;
    fn alias(&mut self) -> Answer<String>;
    fn option(&mut self) -> Option<String>;
}

fn main() {}
