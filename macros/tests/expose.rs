//! `#[expose]`d objects called through the daemon's connection state machine, in the four
//! formats: arguments, Python's TypeError texts, results and exceptions, the call context,
//! oneway calls, properties, private names, metadata and both kinds of item streams.

mod util;

use core::cell::RefCell;
use core::fmt;

use pyro5_core::ser::value::Value;
use pyro5_core::server::{
    CallContext, KwArgs, PyException, PythonException, Replied, Reply, StreamCursor, VALUE_ERROR, VarArgs,
};
use pyro5_core::wire::{Annotation, AnnotationId, CorrelationId, Flags};
use pyro5_macros::expose;
use util::{Call, Daemon, FORMATS, names};

/// The object most tests call.
#[derive(Default)]
struct Thermo {
    celsius: f64,
    verbose: bool,
    beeps: u32,
    serial: String,
    target: f64,
    readings_made: u32,
}

/// A user exception class, registered on the Python side with `register_dict_to_class`.
#[derive(Debug)]
struct Overheated(f64);

impl fmt::Display for Overheated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "too hot: {}", self.0)
    }
}

impl PythonException for Overheated {
    fn class(&self) -> &str {
        "thermo.Overheated"
    }
}

/// A `Result` the macro can't see through its name.
type Checked<T> = Result<T, PyException<&'static str>>;

mod outcome {
    /// Named `Result`, but a plain value.
    #[derive(serde::Serialize)]
    pub struct Result {
        pub ok: bool,
    }
}

#[expose]
impl Thermo {
    fn read(&self) -> f64 {
        self.celsius
    }

    fn set(&mut self, value: f64, unit: Option<&str>) -> Result<f64, PyException<&'static str>> {
        let celsius = match unit {
            None | Some("C") => value,
            Some("F") => (value - 32.0) / 1.8,
            Some(_) => return Err(PyException::value_error("unknown unit")),
        };
        if celsius < -273.15 {
            return Err(PyException::new(VALUE_ERROR, "below absolute zero"));
        }
        self.celsius = celsius;
        Ok(celsius)
    }

    /// Borrowed parameters: `&str` straight from the received message.
    fn describe(&self, prefix: &str, width: Option<u32>) -> String {
        format!("{prefix}{:.*}", width.unwrap_or(1) as usize, self.celsius)
    }

    fn calibrate(&mut self, offset: f64) -> Result<(), Overheated> {
        if self.celsius + offset > 100.0 {
            return Err(Overheated(self.celsius + offset));
        }
        self.celsius += offset;
        Ok(())
    }

    #[oneway]
    fn beep(&mut self, times: u32) {
        self.beeps += times;
    }

    fn beeps(&self) -> u32 {
        self.beeps
    }

    /// The context is not a Python parameter, wherever it stands.
    fn whoami(&self, ctx: &CallContext<'_>) -> String {
        ctx.correlation_id.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn tag(&self, key: &str, ctx: &CallContext<'_>) -> Option<String> {
        let id = AnnotationId::try_from(key).ok()?;
        ctx.annotations.get(id).map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// Three readings, then the end; made one per item requested.
    #[stream]
    fn readings(&mut self, cursor: &mut StreamCursor) -> Option<f64> {
        self.readings_made += 1;
        *cursor += 1;
        (*cursor <= 3).then_some(self.celsius + *cursor as f64)
    }

    fn readings_made(&self) -> u32 {
        self.readings_made
    }

    /// `gather(first, *more, **options)`: what it got, as Python's would answer.
    fn gather(&self, first: i64, more: VarArgs<i64>, options: KwArgs<Value>) -> (i64, VarArgs<i64>, KwArgs<Value>) {
        (first, more, options)
    }

    /// `stepdown(start, step=1)`: a cursor stream whose call takes parameters, kept in the
    /// cursor (what is left in the high half, the step in the low one).
    #[stream(next = next_step)]
    fn stepdown(&mut self, start: u32, step: Option<u32>) -> Result<StreamCursor, PyException<&'static str>> {
        match step.unwrap_or(1) {
            0 => Err(PyException::value_error("step must not be zero")),
            step => Ok(u64::from(start) << 32 | u64::from(step)),
        }
    }

    /// The items of `stepdown`; not exposed itself.
    fn next_step(&mut self, cursor: &mut StreamCursor) -> Option<u32> {
        let (left, step) = ((*cursor >> 32) as u32, *cursor as u32);
        *cursor = u64::from(left.saturating_sub(step)) << 32 | u64::from(step);
        (left > 0).then_some(left)
    }

    /// A stream that fails half-way.
    #[pyro5(stream)]
    fn flaky(&mut self, cursor: &mut StreamCursor) -> Result<Option<u64>, PyException<&'static str>> {
        *cursor += 1;
        match *cursor {
            1 => Ok(Some(1)),
            _ => Err(PyException::runtime_error("sensor lost")),
        }
    }

    /// A stream the daemon drives (needs the core's `alloc`).
    fn count_to(&self, n: u32) -> impl Iterator<Item = u32> {
        1..=n
    }

    fn count_down(&self, n: u32) -> Result<impl Iterator<Item = String>, PyException<&'static str>> {
        if n > 10 {
            return Err(PyException::value_error("too many"));
        }
        Ok((0..n).rev().map(|i| format!("t-{i}")))
    }

    #[getter]
    fn verbose(&self) -> bool {
        self.verbose
    }

    #[setter]
    fn set_verbose(&mut self, value: bool) {
        self.verbose = value;
    }

    /// Read-only.
    #[getter]
    fn serial(&self) -> &str {
        &self.serial
    }

    /// Write-only, with its own name and a Result.
    #[setter(name = "target")]
    fn aim(&mut self, celsius: f64) -> Result<(), PyException<&'static str>> {
        if celsius < -273.15 {
            return Err(PyException::value_error("below absolute zero"));
        }
        self.target = celsius;
        Ok(())
    }

    fn aimed_at(&self) -> f64 {
        self.target
    }

    fn _secret(&self) -> u32 {
        42
    }

    #[pyro5(skip)]
    fn helper(&self) -> u32 {
        7
    }

    #[pyro5(skip)]
    #[allow(dead_code)]
    fn into_celsius(self) -> f64 {
        self.celsius
    }

    #[pyro5(name = "__len__")]
    fn len(&self) -> usize {
        3
    }

    fn r#type(&self) -> &'static str {
        "thermometer"
    }

    fn lookup(&self, #[pyro5(name = "objectId")] object_id: &str) -> String {
        format!("found {object_id}")
    }

    /// Answers itself, with a response annotation.
    fn annotated(&self, mut reply: Reply<'_, '_>) -> Replied {
        reply.annotate(AnnotationId::try_from("TEST").unwrap(), b"yes").unwrap();
        reply.ok("annotated")
    }

    #[pyro5(result)]
    fn checked(&self, fine: bool) -> Checked<u32> {
        if fine { Ok(1) } else { Err(PyException::value_error("not fine")) }
    }

    #[pyro5(result = false)]
    fn outcome(&self) -> outcome::Result {
        outcome::Result { ok: true }
    }

    fn new() -> Self {
        Self { celsius: 20.0, serial: "T-1000".into(), ..Self::default() }
    }
}

fn thermo() -> RefCell<Thermo> {
    RefCell::new(Thermo::new())
}

#[test]
fn positional_arguments_in_every_format() {
    for format in FORMATS {
        let object = thermo();
        let mut d = Daemon::new(format, "thermo", &object);
        assert_eq!(d.call("thermo", "set", vals![21.5]).ok(), &Value::Float(21.5), "{format:?}");
        assert_eq!(d.call("thermo", "read", vec![]).ok(), &Value::Float(21.5), "{format:?}");
        assert_eq!(d.call("thermo", "set", vals![70.0, "F"]).ok(), &Value::Float((70.0 - 32.0) / 1.8));
        assert_eq!(d.call("thermo", "describe", vals!["t=", 3]).ok(), &Value::from("t=21.111"), "{format:?}");
    }
}

#[test]
fn keyword_arguments_in_every_format() {
    for format in FORMATS {
        let object = thermo();
        let mut d = Daemon::new(format, "thermo", &object);
        let reply =
            d.invoke(Call::new("thermo", "set", vec![]).kwargs(&[("unit", "F".into()), ("value", 212.0.into())]));
        assert_eq!(reply.unwrap().ok(), &Value::Float(100.0), "{format:?}");
        let reply = d.invoke(Call::new("thermo", "describe", vals!["at "]).kwargs(&[("width", 0.into())]));
        assert_eq!(reply.unwrap().ok(), &Value::from("at 100"), "{format:?}");
    }
}

#[test]
fn optional_parameter_left_out_or_none_is_none() {
    for format in FORMATS {
        let object = thermo();
        let mut d = Daemon::new(format, "thermo", &object);
        assert_eq!(d.call("thermo", "describe", vals!["t="]).ok(), &Value::from("t=20.0"), "{format:?}");
        let reply = d.call("thermo", "describe", vec![Value::from("t="), Value::None]);
        assert_eq!(reply.ok(), &Value::from("t=20.0"), "{format:?}");
        let reply = d.invoke(Call::new("thermo", "set", vals![5.0]).kwargs(&[("unit", Value::None)]));
        assert_eq!(reply.unwrap().ok(), &Value::Float(5.0), "{format:?}");
    }
}

#[test]
fn calls_that_do_not_fit_raise_pythons_type_errors() {
    for format in FORMATS {
        let object = thermo();
        let mut d = Daemon::new(format, "thermo", &object);
        let type_error = |text: &str| ("builtins.TypeError".to_owned(), text.to_owned());
        assert_eq!(
            d.call("thermo", "set", vec![]).raised(),
            type_error("Thermo.set() missing 1 required positional argument: 'value'"),
            "{format:?}"
        );
        assert_eq!(
            d.call("thermo", "set", vals![1.0, "C", 3]).raised(),
            type_error("Thermo.set() takes 3 positional arguments but 4 were given")
        );
        assert_eq!(
            d.call("thermo", "read", vals![1]).raised(),
            type_error("Thermo.read() takes 1 positional argument but 2 were given")
        );
        let reply = d.invoke(Call::new("thermo", "set", vals![1.0]).kwargs(&[("scale", "K".into())])).unwrap();
        assert_eq!(reply.raised(), type_error("Thermo.set() got an unexpected keyword argument 'scale'"));
        let reply = d.invoke(Call::new("thermo", "set", vals![1.0]).kwargs(&[("value", 2.0.into())])).unwrap();
        assert_eq!(reply.raised(), type_error("Thermo.set() got multiple values for argument 'value'"));
        let reply = d.invoke(Call::new("thermo", "lookup", vec![]).kwargs(&[("object_id", "x".into())])).unwrap();
        assert_eq!(reply.raised(), type_error("Thermo.lookup() got an unexpected keyword argument 'object_id'"));
        // An argument of the wrong type: the core's decoding error (its class and text are
        // the core's business), and the method does not run.
        assert!(d.call("thermo", "set", vals!["hot"]).is_exception(), "{format:?}");
        // Nothing ran.
        assert_eq!(object.borrow().celsius, 20.0);
    }
}

#[test]
fn result_errors_are_raised_with_their_class() {
    for format in FORMATS {
        let object = thermo();
        let mut d = Daemon::new(format, "thermo", &object);
        let reply = d.call("thermo", "set", vals![-300.0]);
        assert_eq!(reply.raised(), ("builtins.ValueError".to_owned(), "below absolute zero".to_owned()));
        let traceback = reply.value.get("attributes").and_then(|a| a.get("_pyroTraceback")).expect("a traceback");
        assert!(format!("{traceback:?}").contains("Thermo.set"), "{traceback:?}");
        assert_eq!(
            d.call("thermo", "calibrate", vals![90.0]).raised(),
            ("thermo.Overheated".to_owned(), "too hot: 110".to_owned()),
            "{format:?}"
        );
        assert_eq!(d.call("thermo", "calibrate", vals![1.5]).ok(), &Value::None);
        assert_eq!(d.call("thermo", "read", vec![]).ok(), &Value::Float(21.5));
    }
}

#[test]
fn result_markers_override_what_the_type_name_says() {
    for format in FORMATS {
        let object = thermo();
        let mut d = Daemon::new(format, "thermo", &object);
        assert_eq!(d.call("thermo", "checked", vals![true]).ok(), &Value::Int(1), "{format:?}");
        assert_eq!(d.call("thermo", "checked", vals![false]).raised().1, "not fine", "{format:?}");
        let outcome = d.call("thermo", "outcome", vec![]);
        assert_eq!(outcome.ok().get("ok"), Some(&Value::Bool(true)), "{format:?}");
    }
}

#[test]
fn the_call_context_is_passed_in_not_read_from_python() {
    for format in FORMATS {
        let object = thermo();
        let mut d = Daemon::new(format, "thermo", &object);
        let call = Call { correlation_id: Some(CorrelationId([0xab; 16])), ..Call::new("thermo", "whoami", vec![]) };
        assert_eq!(d.invoke(call).unwrap().ok(), &Value::from("ab".repeat(16)), "{format:?}");
        let annotations = [Annotation::new(AnnotationId::try_from("ROOM").unwrap(), b"kitchen")];
        let call = Call { annotations: &annotations, ..Call::new("thermo", "tag", vals!["ROOM"]) };
        assert_eq!(d.invoke(call).unwrap().ok(), &Value::from("kitchen"), "{format:?}");
        assert_eq!(d.call("thermo", "tag", vals!["ROOM"]).ok(), &Value::None);
        assert_eq!(
            d.call("thermo", "whoami", vals!["x"]).raised().1,
            "Thermo.whoami() takes 1 positional argument but 2 were given"
        );
    }
}

#[test]
fn oneway_calls_run_and_send_nothing() {
    for format in FORMATS {
        let object = thermo();
        let mut d = Daemon::new(format, "thermo", &object);
        let call = Call { flags: Flags::ONEWAY, ..Call::new("thermo", "beep", vals![2]) };
        assert!(d.invoke(call).is_none(), "{format:?}: a oneway call gets no reply");
        let call = Call { flags: Flags::ONEWAY, ..Call::new("thermo", "beep", vec![]).kwargs(&[("times", 3.into())]) };
        assert!(d.invoke(call).is_none());
        assert_eq!(d.call("thermo", "beeps", vec![]).ok(), &Value::Int(5), "{format:?}");
        // Called without the flag, a oneway method answers like any other.
        assert_eq!(d.call("thermo", "beep", vals![1]).ok(), &Value::None);
    }
}

#[test]
fn properties_go_through_getattr_and_setattr() {
    for format in FORMATS {
        let object = thermo();
        let mut d = Daemon::new(format, "thermo", &object);
        assert_eq!(d.get_attr("thermo", "verbose").ok(), &Value::Bool(false), "{format:?}");
        assert_eq!(d.set_attr("thermo", "verbose", Value::Bool(true)).ok(), &Value::None, "{format:?}");
        assert_eq!(d.get_attr("thermo", "verbose").ok(), &Value::Bool(true));
        assert!(object.borrow().verbose);
        assert_eq!(d.get_attr("thermo", "serial").ok(), &Value::from("T-1000"));
        assert_eq!(d.set_attr("thermo", "target", Value::Float(18.5)).ok(), &Value::None);
        assert_eq!(d.call("thermo", "aimed_at", vec![]).ok(), &Value::Float(18.5));
        assert_eq!(
            d.set_attr("thermo", "target", Value::Float(-500.0)).raised(),
            ("builtins.ValueError".to_owned(), "below absolute zero".to_owned())
        );
        // A property is not a method.
        assert_eq!(d.call("thermo", "verbose", vec![]).raised().0, "builtins.AttributeError", "{format:?}");
    }
}

#[test]
fn an_accessor_that_is_missing_refuses() {
    for format in FORMATS {
        let object = thermo();
        let mut d = Daemon::new(format, "thermo", &object);
        let refused = |name: &str| {
            (
                "builtins.AttributeError".to_owned(),
                format!("attempt to access unexposed or unknown remote attribute '{name}'"),
            )
        };
        assert_eq!(d.set_attr("thermo", "serial", Value::from("hacked")).raised(), refused("serial"), "{format:?}");
        assert_eq!(object.borrow().serial, "T-1000");
        assert_eq!(d.get_attr("thermo", "target").raised(), refused("target"), "{format:?}");
        assert_eq!(d.get_attr("thermo", "celsius").raised().0, "builtins.AttributeError");
        let reply = d.invoke(Call::new("thermo", "__setattr__", vals!["verbose"]).no_kwargs()).unwrap();
        assert_eq!(reply.raised().1, "Thermo.__setattr__() missing 1 required positional argument: 'value'");
    }
}

#[test]
fn private_skipped_and_unknown_names_are_not_callable() {
    for format in FORMATS {
        let object = thermo();
        let mut d = Daemon::new(format, "thermo", &object);
        let attribute_error = |text: &str| ("builtins.AttributeError".to_owned(), text.to_owned());
        assert_eq!(
            d.call("thermo", "_secret", vec![]).raised(),
            attribute_error("attempt to access private attribute '_secret'"),
            "{format:?}"
        );
        assert_eq!(
            d.call("thermo", "nope", vec![]).raised(),
            attribute_error("'Thermo' object has no attribute 'nope'")
        );
        assert_eq!(
            d.call("thermo", "helper", vec![]).raised(),
            attribute_error("'Thermo' object has no attribute 'helper'")
        );
        assert_eq!(d.call("thermo", "new", vec![]).raised(), attribute_error("'Thermo' object has no attribute 'new'"));
        assert_eq!(d.call("thermo", "len", vec![]).raised(), attribute_error("'Thermo' object has no attribute 'len'"));
        assert_eq!(d.call("thermo", "__len__", vec![]).ok(), &Value::Int(3));
        assert_eq!(d.call("thermo", "type", vec![]).ok(), &Value::from("thermometer"));
        assert_eq!(d.call("thermo", "lookup", vals!["a"]).ok(), &Value::from("found a"));
        let reply = d.invoke(Call::new("thermo", "lookup", vec![]).kwargs(&[("objectId", "b".into())])).unwrap();
        assert_eq!(reply.ok(), &Value::from("found b"));
    }
}

#[test]
fn metadata_lists_methods_oneway_and_attributes() {
    for format in FORMATS {
        let object = thermo();
        let mut d = Daemon::new(format, "thermo", &object);
        let meta = d.metadata("thermo");
        assert_eq!(
            names(&meta, "methods"),
            [
                "__len__",
                "aimed_at",
                "annotated",
                "beep",
                "beeps",
                "calibrate",
                "checked",
                "count_down",
                "count_to",
                "describe",
                "flaky",
                "gather",
                "lookup",
                "outcome",
                "read",
                "readings",
                "readings_made",
                "set",
                "stepdown",
                "tag",
                "type",
                "whoami",
            ],
            "{format:?}"
        );
        assert_eq!(names(&meta, "oneway"), ["beep"]);
        assert_eq!(names(&meta, "attrs"), ["serial", "target", "verbose"]);
    }
}

#[test]
fn a_cursor_stream_makes_one_item_per_request() {
    for format in FORMATS {
        let object = thermo();
        let mut d = Daemon::new(format, "thermo", &object);
        let reply = d.call("thermo", "readings", vec![]);
        let stream = reply.stream_id();
        assert_eq!(stream.len(), 36, "{format:?}");
        assert_eq!(object.borrow().readings_made, 0, "nothing made before the first item is asked for");
        let first = d.next_item(&stream);
        assert_eq!(first.ok(), &Value::Float(21.0), "{format:?}");
        assert_eq!(object.borrow().readings_made, 1);
        assert_eq!(d.drain(&stream, 10), [Value::Float(22.0), Value::Float(23.0)], "{format:?}");
        assert_eq!(
            d.next_item(&stream).raised(),
            ("Pyro5.errors.PyroError".to_owned(), "item stream terminated".to_owned()),
            "an ended stream is gone"
        );
        assert_eq!(
            d.call("thermo", "readings", vals![1]).raised().1,
            "Thermo.readings() takes 1 positional argument but 2 were given"
        );
    }
}

#[test]
fn rest_parameters_take_the_arguments_past_the_named_ones() {
    let type_error = |text: &str| ("builtins.TypeError".to_owned(), text.to_owned());
    let dict = |items: &[(&str, Value)]| Value::Dict(items.iter().map(|(k, v)| (Value::from(*k), v.clone())).collect());
    for format in FORMATS {
        let object = thermo();
        let mut d = Daemon::new(format, "thermo", &object);
        // Tuples come back as lists in json and msgpack.
        let tuple = |items: Vec<Value>| match format {
            pyro5_core::wire::SerializerId::Json | pyro5_core::wire::SerializerId::Msgpack => Value::List(items),
            _ => Value::Tuple(items),
        };
        let call = Call::new("thermo", "gather", vals![1, 2, 3]).kwargs(&[("flag", true.into()), ("n", 5.into())]);
        let got = d.invoke(call).unwrap();
        let expected =
            tuple(vec![Value::Int(1), tuple(vals![2, 3]), dict(&[("flag", Value::Bool(true)), ("n", Value::Int(5))])]);
        assert_eq!(got.ok(), &expected, "{format:?}");
        let got = d.invoke(Call::new("thermo", "gather", vec![]).kwargs(&[("first", 7.into())])).unwrap();
        assert_eq!(got.ok(), &tuple(vec![Value::Int(7), tuple(vec![]), dict(&[])]), "{format:?}");
        assert_eq!(
            d.call("thermo", "gather", vec![]).raised(),
            type_error("Thermo.gather() missing 1 required positional argument: 'first'")
        );
        let twice = d.invoke(Call::new("thermo", "gather", vals![1]).kwargs(&[("first", 2.into())])).unwrap();
        assert_eq!(twice.raised(), type_error("Thermo.gather() got multiple values for argument 'first'"));
        assert!(d.call("thermo", "gather", vals![1, "two"]).is_exception(), "{format:?}: a wrong type");
    }
}

#[test]
fn a_stream_with_parameters_goes_on_from_the_cursor_its_start_returned() {
    for format in FORMATS {
        let object = thermo();
        let mut d = Daemon::new(format, "thermo", &object);
        let stream = d.call("thermo", "stepdown", vals![7, 3]).stream_id();
        assert_eq!(d.drain(&stream, 10), vals![7, 4, 1], "{format:?}");
        let stream = d.invoke(Call::new("thermo", "stepdown", vec![]).kwargs(&[("start", 2.into())])).unwrap();
        assert_eq!(d.drain(&stream.stream_id(), 10), vals![2, 1], "{format:?}: the default step");
        assert_eq!(
            d.call("thermo", "stepdown", vals![5, 0]).raised(),
            ("builtins.ValueError".to_owned(), "step must not be zero".to_owned()),
            "{format:?}: the start's error is raised at the call"
        );
        assert_eq!(
            d.call("thermo", "stepdown", vec![]).raised(),
            (
                "builtins.TypeError".to_owned(),
                "Thermo.stepdown() missing 1 required positional argument: 'start'".to_owned()
            )
        );
        assert_eq!(
            d.call("thermo", "next_step", vec![]).raised(),
            ("builtins.AttributeError".to_owned(), "'Thermo' object has no attribute 'next_step'".to_owned()),
            "the item method is not exposed"
        );
    }
}

#[test]
fn a_cursor_stream_error_is_raised_and_ends_it() {
    for format in FORMATS {
        let object = thermo();
        let mut d = Daemon::new(format, "thermo", &object);
        let stream = d.call("thermo", "flaky", vec![]).stream_id();
        assert_eq!(d.next_item(&stream).ok(), &Value::Int(1), "{format:?}");
        assert_eq!(d.next_item(&stream).raised(), ("builtins.RuntimeError".to_owned(), "sensor lost".to_owned()));
        assert_eq!(d.next_item(&stream).raised().1, "item stream terminated");
    }
}

#[test]
fn an_iterator_stream_is_driven_by_the_daemon() {
    for format in FORMATS {
        let object = thermo();
        let mut d = Daemon::new(format, "thermo", &object);
        let stream = d.call("thermo", "count_to", vals![3]).stream_id();
        assert_eq!(d.drain(&stream, 10), vals![1, 2, 3], "{format:?}");
        let stream = d.invoke(Call::new("thermo", "count_to", vec![]).kwargs(&[("n", 0.into())])).unwrap().stream_id();
        assert_eq!(d.drain(&stream, 10), vec![], "{format:?}");
        let stream = d.call("thermo", "count_down", vals![2]).stream_id();
        assert_eq!(d.drain(&stream, 10), vals!["t-1", "t-0"], "{format:?}");
        assert_eq!(d.call("thermo", "count_down", vals![11]).raised().1, "too many");
    }
}

#[test]
fn a_method_taking_the_reply_answers_itself() {
    for format in FORMATS {
        let object = thermo();
        let mut d = Daemon::new(format, "thermo", &object);
        let reply = d.call("thermo", "annotated", vec![]);
        assert_eq!(reply.ok(), &Value::from("annotated"), "{format:?}");
        assert!(reply.annotations.contains(&("TEST".to_owned(), b"yes".to_vec())), "{:?}", reply.annotations);
    }
}

#[test]
fn batch_calls_use_the_same_dispatch() {
    for format in FORMATS {
        let object = thermo();
        let mut d = Daemon::new(format, "thermo", &object);
        let item = |method: &str, args: Vec<Value>| {
            Value::Tuple(vec![Value::from(method), Value::Tuple(args), Value::Dict(vec![])])
        };
        let batch = |items| Call { flags: Flags::BATCH, ..Call::new("thermo", "<batch>", items).no_kwargs() };
        let reply = d.invoke(batch(vec![item("set", vals![30.0]), item("describe", vals!["t="])])).unwrap();
        assert_eq!(reply.ok(), &Value::List(vec![Value::Float(30.0), Value::from("t=30.0")]), "{format:?}");
        if format == pyro5_core::wire::SerializerId::Marshal {
            continue; // Pyro5 cannot marshal the exception wrapper of a failed batch item
        }
        let reply = d.invoke(batch(vec![item("read", vec![]), item("set", vec![]), item("read", vec![])])).unwrap();
        let Value::List(results) = reply.ok() else { panic!("{:?}", reply.value) };
        assert_eq!(results.len(), 2, "{format:?}: a batch stops at its first exception");
        assert_eq!(results[0], Value::Float(30.0));
        let exception = results[1].get("exception").expect("the batch's exception wrapper");
        let message = match exception.get("args") {
            Some(Value::Tuple(a) | Value::List(a)) => a[0].clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(message, Value::from("Thermo.set() missing 1 required positional argument: 'value'"));
    }
}

/// A direct call of the generated `metadata`, and of methods the macro left in place.
#[test]
fn the_impl_block_stays_usable_from_rust() {
    use pyro5_core::server::PyroObject;
    let t = Thermo::new();
    assert_eq!(t.helper(), 7);
    assert_eq!(t._secret(), 42);
    assert_eq!(t.count_to(2).collect::<Vec<_>>(), [1, 2]);
    let meta = t.metadata();
    assert_eq!(meta.class_name, "Thermo");
    assert_eq!(meta.oneway, ["beep"]);
    assert_eq!(meta.attrs, ["verbose", "serial", "target"]);
    assert_eq!(t.into_celsius(), 20.0);
}
