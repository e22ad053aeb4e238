use pyro5_macros::proxy;
use pyro5_std::ProxyError;

#[proxy]
trait Markers {
    #[pyro5(oneway)]
    fn fire(&mut self) -> Result<(), ProxyError>;
    #[pyro5(kwargs)]
    fn unknown(&mut self) -> Result<(), ProxyError>;
    #[getter]
    fn short_form(&mut self) -> Result<u32, ProxyError>;
    #[pyro5(getter)]
    fn getter_with_argument(&mut self, which: u32) -> Result<u32, ProxyError>;
    #[pyro5(setter)]
    fn set_two(&mut self, a: u32, b: u32) -> Result<(), ProxyError>;
    #[pyro5(setter)]
    fn set_returns(&mut self, a: u32) -> Result<u32, ProxyError>;
    #[pyro5(setter)]
    fn verbose(&mut self, on: bool) -> Result<(), ProxyError>;
    #[pyro5(getter, setter)]
    fn both(&mut self) -> Result<u32, ProxyError>;
    #[pyro5(getter = "x", name = "y")]
    fn named_twice(&mut self) -> Result<u32, ProxyError>;
    fn _private(&mut self) -> Result<u32, ProxyError>;
    #[pyro5(name = "__init__")]
    fn init(&mut self) -> Result<u32, ProxyError>;
    fn positional(&mut self, #[pyro5(name = "x")] value: u32) -> Result<u32, ProxyError>;
    #[pyro5(name = "remote")]
    fn local(&mut self) -> Result<u32, ProxyError> {
        Ok(1)
    }
}

fn main() {}
