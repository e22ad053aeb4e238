use pyro5_macros::proxy;
use pyro5_std::ProxyError;

/// Neither serializable nor deserializable.
struct Opaque;

/// Not made from a ProxyError.
#[derive(Debug)]
struct MyError;

#[proxy]
trait Types {
    fn result_not_deserializable(&mut self) -> Result<Opaque, ProxyError>;
    fn error_without_from(&mut self) -> Result<u32, MyError>;
    fn argument_not_serializable(&mut self, value: Opaque) -> Result<u32, ProxyError>;
    fn second_argument_not_serializable(&mut self, a: u32, b: Opaque) -> Result<u32, ProxyError>;
    #[pyro5(getter)]
    fn opaque(&mut self) -> Result<Opaque, ProxyError>;
    #[pyro5(setter)]
    fn set_opaque(&mut self, value: Opaque) -> Result<(), ProxyError>;
}

fn main() {}
