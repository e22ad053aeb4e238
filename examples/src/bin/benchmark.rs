//! Pyro5's `benchmark` example: `bench`, an object of small methods the client calls a
//! thousand times each (strings, numbers, many arguments, `*args`, `**kwargs`, a big reply,
//! a oneway call), served as `example.benchmark` in the daemon, without a name server; the
//! client asks for the URI and prints how long each kind of call took.

use pyro5_examples::{Class, serve};
use pyro5_std::core::ser::value::Value;
use pyro5_std::core::server::{PyException, TYPE_ERROR};
use pyro5_std::{InstanceMode, KwArgs, VarArgs, expose};

struct Bench;

#[expose]
impl Bench {
    /// Python's `len` of a string: its characters.
    fn length(&self, string: &str) -> usize {
        string.chars().count()
    }

    /// `value * 2`, for numbers, strings and sequences as Python's `*` does them.
    fn timestwo(&self, value: Value) -> Result<Value, PyException<String>> {
        match value {
            Value::Int(n) => n.checked_mul(2).map(Value::Int).ok_or_else(|| overflow("int")),
            Value::Float(x) => Ok(Value::Float(x * 2.0)),
            Value::Bool(b) => Ok(Value::Int(i128::from(b) * 2)),
            Value::Str(s) => Ok(Value::Str(s.repeat(2))),
            Value::List(items) => Ok(Value::List([items.clone(), items].concat())),
            Value::Tuple(items) => Ok(Value::Tuple([items.clone(), items].concat())),
            other => Err(PyException::new(
                TYPE_ERROR,
                format!("unsupported operand type(s) for *: '{}' and 'int'", other.type_name()),
            )),
        }
    }

    fn bigreply(&self) -> String {
        "BIG REPLY".repeat(500)
    }

    fn bigarg(&self, arg: &str) -> usize {
        arg.chars().count()
    }

    #[allow(clippy::too_many_arguments)]
    fn manyargs(
        &self,
        a1: i64,
        a2: i64,
        a3: i64,
        a4: i64,
        a5: i64,
        a6: i64,
        a7: i64,
        a8: i64,
        a9: i64,
        a10: i64,
        a11: i64,
        a12: i64,
        a13: i64,
        a14: i64,
        a15: i64,
    ) -> i64 {
        [a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15].iter().sum()
    }

    fn noreply(&self, arg: Value) {
        let _ = arg;
    }

    fn varargs(&self, args: VarArgs<Value>) -> usize {
        args.len()
    }

    fn keywords(&self, args: KwArgs<Value>) -> KwArgs<Value> {
        args
    }

    fn echo(&self, args: VarArgs<Value>) -> VarArgs<Value> {
        args
    }

    /// Nothing comes back.
    #[oneway]
    fn oneway(&self, args: VarArgs<Value>) {
        let _ = args;
    }
}

/// Python's `OverflowError` for a number past what we carry.
fn overflow(what: &str) -> PyException<String> {
    PyException::new("builtins.OverflowError", format!("{what} too large to double here"))
}

fn main() -> pyro5_examples::Result {
    serve(vec![Class::new("bench.bench", InstanceMode::Session, || Bench, "example.benchmark")], None, false)
}
