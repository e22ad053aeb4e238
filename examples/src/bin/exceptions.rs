//! Pyro5's `exceptions` example: `TestClass`, whose methods raise (or return) Python
//! exceptions of the classes and texts the client prints, registered by name
//! (`example.exceptions`) in the name server. The remote traceback names the Rust method
//! instead of Python's frames.

use std::collections::BTreeMap;

use pyro5_examples::{Class, serve};
use pyro5_std::core::ser::envelope::ExceptionDict;
use pyro5_std::core::server::{PyException, RUNTIME_ERROR, TYPE_ERROR, VALUE_ERROR, ZERO_DIVISION_ERROR};
use pyro5_std::{InstanceMode, expose};

type Raised = PyException<&'static str>;

/// The arguments of the exception `error2` returns.
const VALUE_ERROR_ARGS: (&str,) = ("a valueerror! Great!",);

struct TestClass;

#[expose]
impl TestClass {
    fn div(&self, arg1: f64, arg2: f64) -> Result<f64, Raised> {
        if arg2 == 0.0 {
            return Err(PyException::new(ZERO_DIVISION_ERROR, "division by zero"));
        }
        Ok(arg1 / arg2)
    }

    fn error(&self) -> Result<(), Raised> {
        Err(PyException::new(VALUE_ERROR, "a valueerror! Great!"))
    }

    /// An exception returned as a value, not raised.
    fn error2(&self) -> ExceptionDict<'static, (&'static str,)> {
        ExceptionDict { class: VALUE_ERROR, args: &VALUE_ERROR_ARGS, traceback: None }
    }

    fn othererr(&self) -> Result<(), Raised> {
        Err(PyException::new(RUNTIME_ERROR, "a runtime error!"))
    }

    /// Raises, but the caller never hears of it: the call is oneway.
    #[oneway]
    fn onewayerr(&self) -> Result<(), Raised> {
        Err(PyException::new(VALUE_ERROR, "error in oneway call!"))
    }

    /// Fails as Python's `'going down...' // 2` does.
    fn complexerror(&self) -> Result<(), Raised> {
        Err(PyException::new(TYPE_ERROR, "unsupported operand type(s) for //: 'str' and 'int'"))
    }

    /// What Python's server sends for a function, which no client can deserialize: an
    /// object of class `builtins.function`.
    fn unserializable(&self) -> BTreeMap<&'static str, &'static str> {
        BTreeMap::from([("__class__", "builtins.function")])
    }
}

fn main() -> pyro5_examples::Result {
    serve(vec![Class::new("excep.TestClass", InstanceMode::Session, || TestClass, "example.exceptions")], None, true)
}
