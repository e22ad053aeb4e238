//! Serving an `#[expose]`d object allocates nothing: argument checks and reads, results,
//! exceptions, properties and cursor streams, in every format, counted by a counting global
//! allocator in this test binary (the core's `alloc` is on here, as on a server).

mod util;

use core::cell::RefCell;

use pyro5_core::ser::value::Value;
use pyro5_core::server::{CallContext, PyException, StreamCursor};
use pyro5_core::wire::Flags;
use pyro5_macros::expose;
use util::{Answer, Call, Daemon, FORMATS, Reply};

struct Sensor {
    celsius: f64,
    verbose: bool,
}

#[expose]
impl Sensor {
    fn read(&self) -> f64 {
        self.celsius
    }

    fn set(&mut self, value: f64, unit: Option<&str>) -> Result<f64, PyException<&'static str>> {
        let celsius = if unit == Some("F") { (value - 32.0) / 1.8 } else { value };
        if celsius < -273.15 {
            return Err(PyException::value_error("below absolute zero"));
        }
        self.celsius = celsius;
        Ok(celsius)
    }

    fn echo<'a>(&self, text: &'a str) -> &'a str {
        text
    }

    #[oneway]
    fn reset(&mut self) {
        self.celsius = 0.0;
    }

    fn seq(&self, ctx: &CallContext<'_>) -> u16 {
        ctx.seq
    }

    #[getter]
    fn verbose(&self) -> bool {
        self.verbose
    }

    #[setter]
    fn set_verbose(&mut self, value: bool) {
        self.verbose = value;
    }

    #[stream]
    fn readings(&mut self, cursor: &mut StreamCursor) -> Option<f64> {
        *cursor += 1;
        (*cursor <= 2).then_some(self.celsius)
    }

    /// `samples(count)`: a stream whose call takes a parameter, kept in the cursor.
    #[stream(next = next_sample)]
    fn samples(&mut self, count: u32) -> StreamCursor {
        u64::from(count)
    }

    fn next_sample(&mut self, left: &mut StreamCursor) -> Option<f64> {
        *left = left.checked_sub(1)?;
        Some(self.celsius)
    }
}

/// Allocations made by `f` (counted by allocation-counter's global allocator).
fn allocations_during(f: impl FnOnce()) -> u64 {
    allocation_counter::measure(f).count_total
}

/// Run `call` and count what handling it allocated; the reply, decoded afterwards.
fn counted(d: &mut Daemon<'_>, call: Call<'_>) -> (u64, Option<Reply>) {
    let wire = d.encode(call);
    let mut answer = Answer::Nothing;
    let n = allocations_during(|| answer = d.handle(&wire));
    let reply = match answer {
        Answer::Reply { closes: false } => Some(Reply::decode(d.sent())),
        Answer::Nothing => None,
        other => panic!("{other:?}"),
    };
    (n, reply)
}

#[test]
fn serving_an_exposed_object_allocates_nothing() {
    assert_eq!(allocations_during(|| drop(std::hint::black_box(vec![1u8; 8]))), 1, "the counter counts");
    for format in FORMATS {
        let sensor = RefCell::new(Sensor { celsius: 20.0, verbose: false });
        let mut d = Daemon::new(format, "sensor", &sensor);
        // What each call answers: a value, an exception (`Err`), or nothing.
        let raises = Some(Err(()));
        let calls = [
            (Call::new("sensor", "set", vals![212.0]).kwargs(&[("unit", "F".into())]), Some(Ok(Value::Float(100.0)))),
            (Call::new("sensor", "read", vec![]), Some(Ok(Value::Float(100.0)))),
            (Call::new("sensor", "echo", vals!["hi"]), Some(Ok(Value::from("hi")))),
            (Call::new("sensor", "seq", vec![]), Some(Ok(Value::Int(5)))),
            (Call::new("sensor", "set", vals![-300.0]), raises.clone()),
            (Call::new("sensor", "set", vec![]), raises.clone()),
            (Call::new("sensor", "set", vals![1.0]).kwargs(&[("scale", 1.into())]), raises.clone()),
            (Call::new("sensor", "nope", vec![]), raises.clone()),
            (Call::new("sensor", "__getattr__", vals!["verbose"]).no_kwargs(), Some(Ok(Value::Bool(false)))),
            (Call::new("sensor", "__setattr__", vals!["verbose", true]).no_kwargs(), Some(Ok(Value::None))),
            (Call { flags: Flags::ONEWAY, ..Call::new("sensor", "reset", vec![]) }, None),
        ];
        for (call, expected) in calls {
            let what = call.method;
            let (n, reply) = counted(&mut d, call);
            assert_eq!(n, 0, "{format:?}: {what} allocated {n} times; reply {reply:?}");
            let answered = reply.map(|r| if r.is_exception() { Err(()) } else { Ok(r.ok().clone()) });
            assert_eq!(answered, expected, "{format:?}: {what}");
        }
        let (n, reply) = counted(&mut d, Call::new("sensor", "readings", vec![]));
        assert_eq!(n, 0, "{format:?}: starting a cursor stream allocated {n} times");
        let stream = reply.unwrap().stream_id();
        for _ in 0..3 {
            let next = Call::new("Pyro.Daemon", "get_next_stream_item", vec![Value::from(stream.as_str())]);
            let (n, _) = counted(&mut d, next);
            assert_eq!(n, 0, "{format:?}: a stream item allocated {n} times");
        }
        let (n, reply) = counted(&mut d, Call::new("sensor", "samples", vals![2]));
        assert_eq!(n, 0, "{format:?}: starting a stream with a parameter allocated {n} times");
        let stream = reply.unwrap().stream_id();
        for expected_end in [false, false, true] {
            let next = Call::new("Pyro.Daemon", "get_next_stream_item", vec![Value::from(stream.as_str())]);
            let (n, reply) = counted(&mut d, next);
            assert_eq!(n, 0, "{format:?}: an item of samples allocated {n} times");
            assert_eq!(reply.unwrap().is_exception(), expected_end, "{format:?}: two samples, then the end");
        }
        assert!(sensor.borrow().verbose);
    }
}
