"""Client-side conformance suite for a Pyro5 echo server (object id "test.echoserver").

The reference is Python's own `python -m Pyro5.utils.echoserver` (Pyro5 5.17); every
expected value and error text below was taken from running against that server, so any
server that passes is indistinguishable from it for these calls. Per serializer
(serpent, json, marshal, msgpack), with a fresh proxy (10 s timeout), it checks:

  * _pyroBind() metadata: exact methods / oneway / attrs sets;
  * echo() of many values (ints up to 2**70 and beyond, floats incl. -0.0/inf/nan,
    unicode and escape-heavy strings, bytes, None/bools, lists, tuples, dicts with
    non-str keys, nested structures, sets, complex, empty containers, large payloads),
    each compared strictly (types, signed zeros, tuple vs list) against what that
    serializer brings back from Python's server, plus echo(message=...) via kwargs; dicts
    keyed by "$pyro5::..." type-marker names (plain user data), datetime and date (msgpack
    ext types 0x32/0x33, ISO text elsewhere), Decimal and UUID;
  * error() / error_with_text(): exact ValueError text and args, remote traceback;
  * request-deserialization errors the server reports (unknown "__class__" dicts,
    non-str msgpack map keys);
  * oneway_echo / oneway_slow return None at once and don't block the next call;
  * generator(): streamed iterator, early close / del, two interleaved streams;
  * nan(), inf(), __dunder__();
  * refused calls: unknown, _private, __private, mangled, private dunder and unexposed
    names via _pyroInvoke (exact AttributeError texts the daemon sends), the client-side
    refusal via attribute access, and __getattr__/__setattr__ on non-properties;
  * the exposed `verbose` property (read, write, read back, restore);
  * batch calls: results, an error in the middle, a oneway method inside a batch,
    a private method in a batch, and a oneway batch;
  * the Pyro.Daemon object: ping, registered, info, get_metadata (both objects, and
    "nope" -> DaemonError), get_next_stream_item on an unknown stream;
  * a call with a correlation id and a custom annotation.

Optional: --slow calls slow() (5 s per serializer); --shutdown calls shutdown() as the
very last call and then waits for the server to stop accepting connections.

Known Pyro5 5.17 client limitations worked around for marshal: the proxy's property
access and BatchProxy send kwargs=None, which the marshal serializer cannot encode, so
for marshal those requests are sent with _pyroInvoke(..., {}) instead (same wire call).

Usage: python echo_suite.py URI [--serializers serpent,json,marshal,msgpack] [--slow] [--shutdown]
Prints "<serializer>: N checks ok" per serializer and exits 0, or prints every failure
and exits 1.
"""
import argparse
import base64
import datetime
import decimal
import math
import struct
import sys
import time
import uuid

import Pyro5.api
import Pyro5.errors
from Pyro5 import core, protocol
from Pyro5.api import current_context

ALL_SERIALIZERS = ["serpent", "json", "marshal", "msgpack"]
TIMEOUT = 10.0

EXPECTED_METHODS = {"__dunder__", "echo", "error", "error_with_text", "generator", "inf", "nan",
                    "oneway_echo", "oneway_slow", "shutdown", "slow"}
EXPECTED_ONEWAY = {"oneway_echo", "oneway_slow"}
EXPECTED_ATTRS = {"verbose"}
DAEMON_METHODS = {"close_stream", "get_metadata", "get_next_stream_item", "info", "ping", "registered"}

ERROR_TEXT = "this is the generated error from echoserver echo() method"
ERROR_WITH_TEXT_TEXT = "the message of the error"
DUNDER_TEXT = "should be allowed (dunder)"
SLOW_TEXT = "Finally, an answer!"
GENERATOR_ITEMS = ["one", "two", "three"]


# ---------------------------------------------------------------- strict comparison

def _float_same(a, b):
    if math.isnan(a) and math.isnan(b):
        return True
    return struct.pack("<d", a) == struct.pack("<d", b)  # tells -0.0 from 0.0


def same(a, b):
    """Equality that also demands identical types all the way down (bool is not int,
    tuple is not list, -0.0 is not 0.0, NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if type(a) is float:
        return _float_same(a, b)
    if type(a) is complex:
        return _float_same(a.real, b.real) and _float_same(a.imag, b.imag)
    if type(a) in (list, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if type(a) is dict:
        if len(a) != len(b):
            return False
        for key, value in a.items():
            partners = [k for k in b if same(key, k)]
            if len(partners) != 1 or not same(value, b[partners[0]]):
                return False
        return True
    if type(a) in (set, frozenset):
        return len(a) == len(b) and all(any(same(x, y) for y in b) for x in a)
    return a == b


def show(value, limit=300):
    if type(value) in (set, frozenset) and value:  # stable, readable order
        text = "{%s}" % ", ".join(sorted(map(repr, value)))
    else:
        text = repr(value)
    if len(text) > limit:
        text = "%s...(%d chars)" % (text[:limit], len(text))
    return "%s %s" % (type(value).__name__, text)


def show_exc(exc):
    return "%s.%s(%r)" % (type(exc).__module__, type(exc).__name__, str(exc))


# ---------------------------------------------------------------- what each serializer brings back

class Unsupported(Exception):
    """the (Python) client side of this serializer can't send the value at all"""


def expected_key(key, ser):
    if ser == "json":  # json object keys are always strings
        if key is True:
            return "true"
        if key is False:
            return "false"
        if key is None:
            return "null"
        if type(key) is str:
            return key
        if type(key) is int:
            return str(key)
        if type(key) is float:
            return repr(key)
        raise Unsupported(key)
    if ser == "msgpack" and type(key) is not str:
        raise Unsupported(key)  # Python's msgpack refuses non-str map keys (checked separately)
    if ser == "serpent" and key is None:
        raise Unsupported(key)
    return expected_echo(key, ser)


def expected_echo(value, ser):
    """The value Python's echoserver hands back for `value` over serializer `ser`."""
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    if kind in (bytes, bytearray):
        if ser == "serpent":  # serpent carries bytes as a base64 dict, and that dict is echoed
            return {"data": base64.b64encode(bytes(value)).decode("ascii"), "encoding": "base64"}
        if ser == "json":
            raise Unsupported(value)
        return bytes(value)
    if kind is complex:
        if ser == "json":
            raise Unsupported(value)
        return value
    if kind is list:
        return [expected_echo(x, ser) for x in value]
    if kind is tuple:
        items = [expected_echo(x, ser) for x in value]
        return tuple(items) if ser in ("serpent", "marshal") else items
    if kind in (set, frozenset):
        items = [expected_echo(x, ser) for x in value]  # same iteration order the client sends
        if ser == "serpent":
            return set(items) if items else ()  # serpent writes an empty set as ()
        if ser == "marshal":
            return kind(items)
        if kind is frozenset:
            raise Unsupported(value)
        return items
    if kind is dict:
        return {expected_key(k, ser): expected_echo(v, ser) for k, v in value.items()}
    if kind in (datetime.datetime, datetime.date):
        if ser == "msgpack":  # ext 0x32 (timestamp) / 0x33 (ordinal), echoed as such
            return value
        if ser in ("serpent", "json"):
            return value.isoformat()
        raise Unsupported(value)  # marshal: a class dict, which the server refuses
    if kind is decimal.Decimal:
        if ser == "marshal":
            raise Unsupported(value)
        return str(value)
    if kind is uuid.UUID:
        return str(value)
    raise Unsupported(value)


def echo_cases():
    """(label, value, {serializer: expected} overrides)"""
    ints = [0, 1, -1, 23, 24, 127, 128, 255, 256, -32, -33, -128, -129, 65535, 65536,
            2**31 - 1, 2**31, -2**31, -2**31 - 1, 2**32, 2**53 + 1, 2**63 - 1, 2**63, -2**63,
            -2**63 - 1, 2**64 - 1, 2**64, 2**70, -2**70, 10**40, -(10**40)]
    floats = [0.0, -0.0, 1.5, -2.25, 0.1, 1 / 3, 1e300, -1e-300, 5e-324, 1.7976931348623157e308,
              2.0**53, 1e16, 123456789.125, float("inf"), float("-inf"), float("nan")]
    strings = ["", "hello", "unicode: \u00e4\u00f6\u00fc \u00df \u20ac \u65e5\u672c\u8a9e \U0001F600 \U0010FFFF",
               "controls \x00\x01\x1f\x7f\x80\x9f", "quotes ' \" ''' \"\"\" `", "backslash \\ \\n \\x00 \\u20ac",
               "newlines\nand\r\nand\rand\ttabs\f\v", "separators \u2028 \u2029 \u0085 \ufeff",
               "{'__class__': 'not a dict'}", "x" * 100000]
    others = [None, True, False,
              b"", b"abc", bytes(range(256)), b"\x00\xff" * 32768, bytearray(b"xy"),
              [], [1, "a", None, True, 2.5], [[[]]], list(range(1000)),
              (), (1,), (1, "two", 3.0), ((1, 2), [3, (4,)]),
              {}, {"a": 1, "b": [1, 2]}, {"data": "YWJj", "encoding": "base64"},
              {1: "one", -2: "minus two", 2**70: "big"}, {(1, 2): "tuple key"}, {2.5: "x", False: "y"},
              {"list": [1, (2, 3), {"x": {4, 5}}], "t": ({"a": None},), "deep": [[[[["bottom"]]]]]},
              [b"ab", (b"c",)],
              set(), {1, 2, 3}, {"a", "b"}, {(1, 2), 3}, frozenset({1, 2}), frozenset(),
              complex(1, 2), complex(-1.5, 0.25), complex(float("inf"), 1)]
    # Dicts whose keys look like a Rust implementation's internal type markers: user data,
    # to be echoed as the dicts they are.
    tokens = ["$pyro5::set", "$pyro5::frozenset", "$pyro5::tuple", "$pyro5::complex", "$pyro5::bigint",
              "$pyro5::datetime", "$pyro5::date", "$pyro5::value"]
    payloads = [[1, 2], "12345", [1.0, 2.0], 1.5, 738887, None, {"x": 1}]
    markers = [{token: payload} for token in tokens for payload in payloads]
    markers += [{"$pyro5::set": [1, 2], "other": 3},
                {"outer": [{"$pyro5::tuple": {"$pyro5::bigint": "7"}}], "t": ({"$pyro5::complex": [0.5, 1.5]},)},
                [{"$pyro5::frozenset": [{"$pyro5::set": []}]}],
                {"k": "$pyro5::set"}, {"$pyro5::set": 2**70}, {"$pyro5::complex": complex(1, 2)}]
    # msgpack's ext types as Pyro uses them (complex 0x30 and int 0x31 are above), and the
    # types Pyro5 turns into strings.
    moments = [datetime.datetime(2024, 1, 2, 3, 4, 5, 678901), datetime.datetime(1970, 1, 1, 0, 0),
               datetime.datetime(2038, 1, 19, 3, 14, 8), datetime.date(2024, 1, 2), datetime.date(1, 1, 1),
               datetime.date(9999, 12, 31),
               [datetime.date(2000, 2, 29), {"when": datetime.datetime(2000, 2, 29, 12, 0, 0, 1)}],
               decimal.Decimal("1.10"), uuid.UUID("12345678-1234-5678-1234-567812345678")]
    cases = [(show(v, 60), v, {}) for v in ints + floats + strings + others + markers + moments]
    # serpent writes "(0.0-0.0j)", which reads back as 0j: the sign of a zero imaginary part is lost
    cases.append(("complex(0, -0.0)", complex(0, -0.0), {"serpent": 0j}))
    return cases


# ---------------------------------------------------------------- check bookkeeping

def is_link_failure(exc):
    """connection trouble (refused, closed, timed out), as opposed to an error the server sent"""
    if isinstance(exc, Pyro5.errors.CommunicationError):
        return not isinstance(exc, Pyro5.errors.ProtocolError)
    return isinstance(exc, OSError)


class Suite:
    def __init__(self, name, probe=None):
        self.name = name
        self.checks = 0
        self.failures = []
        self.probe = probe      # callable that raises if the server is unreachable
        self.aborted = False

    def fail(self, check, text):
        self.failures.append("%s: %s: %s" % (self.name, check, text))

    def eq(self, check, got, expected):
        self.checks += 1
        if not same(got, expected):
            detail = ""
            if isinstance(got, (set, frozenset)) and isinstance(expected, (set, frozenset)):
                detail = " (missing %s, unexpected %s)" % (sorted(map(repr, expected - got)),
                                                           sorted(map(repr, got - expected)))
            self.fail(check, "expected %s, got %s%s" % (show(expected), show(got), detail))

    def true(self, check, condition, detail):
        self.checks += 1
        if not condition:
            self.fail(check, detail)

    def remote_tb_ok(self, check, exc):
        self.checks += 1
        tb = getattr(exc, "_pyroTraceback", None)
        if not (isinstance(tb, list) and tb and all(isinstance(line, str) for line in tb)):
            self.fail(check + " remote traceback", "expected a non-empty list of str, got %s" % show(tb))
            return
        try:
            lines = Pyro5.errors.get_pyro_traceback(type(exc), exc, exc.__traceback__)
        except Exception as x:
            self.fail(check + " get_pyro_traceback", "raised %s" % show_exc(x))
            return
        if "Remote traceback" not in "".join(lines):
            self.fail(check + " get_pyro_traceback", "no remote part in %s" % show("".join(lines)))

    def raises(self, check, func, exc_class, message, remote=True):
        """func() must raise exactly exc_class(message); remote errors also carry a traceback."""
        self.checks += 1
        try:
            result = func()
        except Exception as exc:
            if type(exc) is not exc_class or str(exc) != message:
                self.fail(check, "expected %s, got %s" % (show_exc(exc_class(message)), show_exc(exc)))
                return None
            if remote:
                self.remote_tb_ok(check, exc)
            elif getattr(exc, "_pyroTraceback", None):
                self.fail(check, "expected a client-side error, but it carries a remote traceback")
            return exc
        self.fail(check, "expected %s, got return value %s" % (show_exc(exc_class(message)), show(result)))
        return None

    def group(self, label, func, proxies=()):
        """Run one group of checks; an unexpected exception fails the group, not the run.
        If the server stops answering altogether, the remaining groups are skipped."""
        if self.aborted:
            return
        try:
            func()
        except Exception as exc:
            self.checks += 1
            self.fail(label, "unexpected %s" % show_exc(exc))
            for proxy in proxies:  # start the next group on a fresh connection
                try:
                    proxy._pyroRelease()
                except Exception:
                    pass
            if is_link_failure(exc) and self.probe is not None:
                try:
                    self.probe()
                except Exception as probe_exc:
                    self.aborted = True
                    self.checks += 1
                    self.fail("remaining groups", "skipped, server unreachable: %s" % show_exc(probe_exc))


def make_proxy(uri, ser):
    proxy = Pyro5.api.Proxy(uri)
    proxy._pyroSerializer = ser
    proxy._pyroTimeout = TIMEOUT
    return proxy


def daemon_uri(uri):
    duri = core.URI(uri)
    duri.object = core.DAEMON_NAME
    return duri


def timed(func):
    start = time.perf_counter()
    result = func()
    return result, time.perf_counter() - start


# ---------------------------------------------------------------- the checks

def check_metadata(s, p):
    s.eq("_pyroBind()", p._pyroBind(), True)
    s.eq("_pyroMethods", p._pyroMethods, EXPECTED_METHODS)
    s.eq("_pyroOneway", p._pyroOneway, EXPECTED_ONEWAY)
    s.eq("_pyroAttrs", p._pyroAttrs, EXPECTED_ATTRS)


def check_echo(s, p, ser):
    for label, value, overrides in echo_cases():
        if ser in overrides:
            expected = overrides[ser]
        else:
            try:
                expected = expected_echo(value, ser)
            except Unsupported:
                continue
        try:
            got = p.echo(value)
        except Exception as exc:
            if is_link_failure(exc):
                raise
            s.checks += 1
            s.fail("echo(%s)" % label, "expected %s, got %s" % (show(expected), show_exc(exc)))
            continue
        s.eq("echo(%s)" % label, got, expected)
    for value in ["kw", [1, (2, 3)], {"k": 2**70}]:
        s.eq("echo(message=%r)" % (value,), p.echo(message=value), expected_echo(value, ser))
    s.eq("_pyroInvoke('echo', (), {'message': 5})", p._pyroInvoke("echo", (), {"message": 5}), 5)


def check_request_errors(s, p, ser):
    # the server can't turn an unknown "__class__" dict back into an object
    s.raises("echo({'__class__': 'foo'})", lambda: p.echo({"__class__": "foo", "x": 1}),
             Pyro5.errors.SerializeError, "unsupported serialized class: foo")
    if ser == "msgpack":  # Python's msgpack unpacker (strict_map_key) refuses non-str keys
        s.raises("echo({1: 2})", lambda: p.echo({1: 2}),
                 ValueError, "int is not allowed for map key when strict_map_key=True")
    s.eq("echo after request errors", p.echo("still fine"), "still fine")


def check_errors(s, p):
    for method, text in (("error", ERROR_TEXT), ("error_with_text", ERROR_WITH_TEXT_TEXT)):
        exc = s.raises(method + "()", getattr(p, method), ValueError, text)
        if exc is not None:
            s.eq(method + "() args", exc.args, (text,))


def check_oneway(s, p):
    result, took = timed(lambda: p.oneway_echo("fire and forget"))
    s.eq("oneway_echo()", result, None)
    s.true("oneway_echo() duration", took < 2.0, "expected < 2 s, took %.3f s" % took)
    result, took = timed(p.oneway_slow)
    s.eq("oneway_slow()", result, None)
    s.true("oneway_slow() duration", took < 2.0, "expected < 2 s, took %.3f s" % took)
    result, took = timed(lambda: p.echo("after oneway_slow"))
    s.eq("echo after oneway_slow", result, "after oneway_slow")
    s.true("echo after oneway_slow duration", took < 2.0,
           "expected < 2 s (oneway_slow must not block the server), took %.3f s" % took)


def check_generator(s, p, d):
    it = p.generator()
    s.true("generator() is a client iterator", not isinstance(it, (list, tuple)) and iter(it) is it,
           "expected a streaming iterator, got %s" % show(it))
    s.eq("generator() items", list(it), GENERATOR_ITEMS)
    try:
        extra = next(it)
    except StopIteration:
        s.true("generator() exhausted", True, "")
    else:
        s.true("generator() exhausted", False, "expected StopIteration, got %s" % show(extra))

    it = p.generator()
    s.eq("early-closed generator first item", next(it), "one")
    stream_id = it.streamId
    it.close()
    s.eq("call after generator close()", p.echo("after close"), "after close")
    time.sleep(0.3)  # close_stream is a oneway call; give the server a moment to run it
    s.raises("closed stream is gone on the server", lambda: d.get_next_stream_item(stream_id),
             Pyro5.errors.PyroError, "item stream terminated")

    it = p.generator()
    s.eq("deleted generator first item", next(it), "one")
    del it
    s.eq("call after generator del", p.echo("after del"), "after del")

    g1, g2 = p.generator(), p.generator()
    s.eq("interleaved streams", [next(g1), next(g2), next(g1), next(g2), next(g2), next(g1)],
         ["one", "one", "two", "two", "three", "three"])
    s.eq("interleaved streams exhausted", list(g1) + list(g2), [])


def check_specials(s, p):
    nan = p.nan()
    s.true("nan()", type(nan) is float and math.isnan(nan), "expected float nan, got %s" % show(nan))
    s.eq("inf()", p.inf(), float("inf"))
    s.eq("__dunder__()", p.__dunder__(), DUNDER_TEXT)
    s.eq("_pyroInvoke('__dunder__')", p._pyroInvoke("__dunder__", (), {}), DUNDER_TEXT)


def check_refusals(s, p):
    # what the daemon answers when asked to call these names directly
    refused = [
        ("unknown method", "nonexistent", "'EchoServer' object has no attribute 'nonexistent'"),
        ("_private", "_private", "attempt to access private attribute '_private'"),
        ("__private", "__private", "attempt to access private attribute '__private'"),
        ("mangled __private", "_EchoServer__private", "attempt to access private attribute '_EchoServer__private'"),
        ("private dunder", "__init__", "attempt to access private attribute '__init__'"),
        ("private attribute", "_verbose", "attempt to access private attribute '_verbose'"),
        ("unexposed (property called as method)", "verbose", "attempt to access unexposed attribute 'verbose'"),
    ]
    for label, name, text in refused:
        s.raises("_pyroInvoke(%r) [%s]" % (name, label), lambda: p._pyroInvoke(name, (), {}), AttributeError, text)
    # attribute access on the proxy is refused client-side, from the bind metadata
    for name in ("_private", "__private", "nonexistent"):
        s.raises("proxy.%s" % name, lambda: getattr(p, name), AttributeError,
                 "remote object '%s' has no exposed attribute or method '%s'" % (p._pyroUri, name), remote=False)
    # remote attribute get/set only reaches exposed properties
    for name, text in (("_verbose", "attempt to access unexposed or unknown remote attribute '_verbose'"),
                       ("echo", "attempt to access unexposed or unknown remote attribute 'echo'"),
                       ("nonexistent", "type object 'EchoServer' has no attribute 'nonexistent'")):
        s.raises("__getattr__ %s" % name, lambda: p._pyroInvoke("__getattr__", (name,), {}), AttributeError, text)
        s.raises("__setattr__ %s" % name, lambda: p._pyroInvoke("__setattr__", (name, 1), {}), AttributeError, text)
    s.eq("call after refusals", p.echo("still here"), "still here")


def check_verbose(s, p, ser):
    if ser == "marshal":  # the 5.17 proxy sends kwargs=None for properties; marshal can't encode that
        def get():
            return p._pyroInvoke("__getattr__", ("verbose",), {})

        def put(value):
            return p._pyroInvoke("__setattr__", ("verbose", value), {})
    else:
        def get():
            return p.verbose

        def put(value):
            setattr(p, "verbose", value)

    s.eq("verbose initially", get(), False)
    try:
        s.eq("set verbose True", put(True), None)
        s.eq("verbose after set True", get(), True)
    finally:
        s.eq("set verbose False", put(False), None)
    s.eq("verbose after set False", get(), False)


def run_batch(p, ser, calls, oneway=False):
    """Returns the batch's results iterator (None for a oneway batch)."""
    if ser != "marshal":
        batch = Pyro5.api.BatchProxy(p)
        for name, args, kwargs in calls:
            getattr(batch, name)(*args, **kwargs)
        return batch(oneway=oneway)
    # the 5.17 BatchProxy sends kwargs=None, which marshal can't encode: same request, kwargs={}
    flags = protocol.FLAGS_BATCH | (protocol.FLAGS_ONEWAY if oneway else 0)
    results = p._pyroInvoke("<batch>", [tuple(c) for c in calls], {}, flags=flags)

    def unwrap():
        for item in results:
            if isinstance(item, core._ExceptionWrapper):
                item.raiseIt()
            yield item
    return None if oneway else unwrap()


def check_batch(s, p, ser):
    results = run_batch(p, ser, [("echo", (1,), {}), ("echo", ("two",), {}), ("echo", (), {"message": (3,)})])
    s.eq("batch results", list(results), [1, "two", expected_echo((3,), ser)])

    calls = [("echo", (1,), {}), ("echo", ("two",), {}), ("error", (), {}), ("echo", (4,), {})]
    if ser == "marshal":
        # Python's daemon can't marshal a result list holding the exception, so the whole batch fails
        s.raises("batch with error (marshal)", lambda: run_batch(p, ser, calls), ValueError, "unmarshallable object")
    else:
        results = run_batch(p, ser, calls)
        s.eq("batch with error: results before it", [next(results), next(results)], [1, "two"])
        s.raises("batch with error: the error", lambda: next(results), ValueError, ERROR_TEXT)
        s.eq("batch with error: nothing after it", list(results), [])

    results = run_batch(p, ser, [("echo", (1,), {}), ("oneway_echo", (2,), {}), ("echo", (3,), {})])
    s.eq("oneway method inside a batch runs normally", list(results), [1, "bogus return value", 3])

    s.raises("batch with a private method", lambda: run_batch(p, ser, [("echo", (1,), {}), ("_private", (), {})]),
             AttributeError, "attempt to access private attribute '_private'")

    result, took = timed(lambda: run_batch(p, ser, [("echo", (1,), {}), ("echo", (2,), {})], oneway=True))
    s.eq("oneway batch", result, None)
    s.true("oneway batch duration", took < 2.0, "expected < 2 s, took %.3f s" % took)
    s.eq("call after batches", p.echo("after batches"), "after batches")


def metadata_container(ser, items):
    if ser == "serpent":
        return set(items) if items else ()
    if ser == "marshal":
        return set(items)
    return sorted(items)


def normalized_metadata(ser, md):
    if ser in ("json", "msgpack") and isinstance(md, dict):  # sent as lists in server set order
        return {k: sorted(v) if isinstance(v, list) else v for k, v in md.items()}
    return md


def check_daemon(s, d, p, ser, object_id):
    s.eq("Pyro.Daemon ping()", d.ping(), None)
    registered = d.registered()
    s.true("Pyro.Daemon registered()",
           type(registered) is list and object_id in registered and core.DAEMON_NAME in registered,
           "expected a list holding %r and %r, got %s" % (object_id, core.DAEMON_NAME, show(registered)))
    info = d.info()
    s.true("Pyro.Daemon info()", isinstance(info, str) and info.startswith("Pyro.Daemon bound on"),
           "expected a str starting with 'Pyro.Daemon bound on', got %s" % show(info))
    md = d.get_metadata(object_id)
    s.eq("get_metadata(%r)" % object_id, normalized_metadata(ser, md), {
        "methods": metadata_container(ser, EXPECTED_METHODS),
        "oneway": metadata_container(ser, EXPECTED_ONEWAY),
        "attrs": metadata_container(ser, EXPECTED_ATTRS)})
    if isinstance(md, dict) and set(md) == {"methods", "oneway", "attrs"}:
        s.eq("get_metadata equals bind metadata",
             [set(md["methods"]), set(md["oneway"]), set(md["attrs"])], [p._pyroMethods, p._pyroOneway, p._pyroAttrs])
    md = d.get_metadata(core.DAEMON_NAME)
    s.eq("get_metadata(%r)" % core.DAEMON_NAME, normalized_metadata(ser, md), {
        "methods": metadata_container(ser, DAEMON_METHODS),
        "oneway": metadata_container(ser, ()),
        "attrs": metadata_container(ser, ())})
    s.raises("get_metadata('nope')", lambda: d.get_metadata("nope"), Pyro5.errors.DaemonError, "unknown object")
    s.raises("get_next_stream_item('nope')", lambda: d.get_next_stream_item("nope"),
             Pyro5.errors.PyroError, "item stream terminated")


def check_annotations(s, p):
    corr = uuid.uuid4()
    current_context.correlation_id = corr
    current_context.annotations = {"XYZZ": b"hello"}
    try:
        s.eq("echo with correlation id + annotation", p.echo("annotated"), "annotated")
        s.true("response annotations", isinstance(current_context.response_annotations, dict),
               "expected a dict, got %s" % show(current_context.response_annotations))
        s.eq("correlation id kept", current_context.correlation_id, corr)
    finally:
        current_context.correlation_id = None
        current_context.annotations = {}
    s.eq("echo without annotations", p.echo("plain"), "plain")


def check_slow(s, p):
    result, took = timed(p.slow)
    s.eq("slow()", result, SLOW_TEXT)
    s.true("slow() duration", 4.5 <= took < TIMEOUT, "expected about 5 s, took %.3f s" % took)


def probe_server(uri, ser):
    with make_proxy(daemon_uri(uri), ser) as probe:
        probe._pyroTimeout = 3.0
        probe.ping()


def run_serializer(uri, ser, slow):
    s = Suite(ser, probe=lambda: probe_server(uri, ser))
    object_id = core.URI(uri).object
    with make_proxy(uri, ser) as p, make_proxy(daemon_uri(uri), ser) as d:
        both = (p, d)
        s.group("metadata", lambda: check_metadata(s, p), both)
        s.group("echo", lambda: check_echo(s, p, ser), both)
        s.group("request errors", lambda: check_request_errors(s, p, ser), both)
        s.group("errors", lambda: check_errors(s, p), both)
        s.group("oneway", lambda: check_oneway(s, p), both)
        s.group("generator", lambda: check_generator(s, p, d), both)
        s.group("nan/inf/dunder", lambda: check_specials(s, p), both)
        s.group("refused calls", lambda: check_refusals(s, p), both)
        s.group("verbose property", lambda: check_verbose(s, p, ser), both)
        s.group("batch", lambda: check_batch(s, p, ser), both)
        s.group("Pyro.Daemon", lambda: check_daemon(s, d, p, ser, object_id), both)
        s.group("annotations", lambda: check_annotations(s, p), both)
        if slow:
            s.group("slow", lambda: check_slow(s, p), both)
    return s


def run_shutdown(uri, ser):
    s = Suite("shutdown")

    def go():
        with make_proxy(uri, ser) as p:
            s.eq("shutdown()", p.shutdown(), None)
        deadline = time.monotonic() + TIMEOUT
        while True:
            probe = make_proxy(daemon_uri(uri), ser)
            probe._pyroTimeout = 2.0
            try:
                probe.ping()
            except Pyro5.errors.CommunicationError:
                s.true("server stopped after shutdown()", True, "")
                return
            finally:
                probe._pyroRelease()
            if time.monotonic() > deadline:
                s.true("server stopped after shutdown()", False,
                       "still answering %.0f s after shutdown()" % TIMEOUT)
                return
            time.sleep(0.2)

    s.group("shutdown", go)
    return s


def main(argv=None):
    parser = argparse.ArgumentParser(description="client test suite for a Pyro5 echo server")
    parser.add_argument("uri", help="PYRO:test.echoserver@host:port")
    parser.add_argument("--serializers", default=",".join(ALL_SERIALIZERS),
                        help="comma separated (default: %(default)s)")
    parser.add_argument("--slow", action="store_true", help="also call slow() (5 s per serializer)")
    parser.add_argument("--shutdown", action="store_true", help="finally call shutdown() and expect the server to stop")
    args = parser.parse_args(argv)
    serializers = [x.strip() for x in args.serializers.split(",") if x.strip()]
    unknown = [x for x in serializers if x not in ALL_SERIALIZERS]
    if unknown or not serializers:
        parser.error("unknown serializer(s): %s" % ", ".join(unknown or ["(none given)"]))

    suites = [run_serializer(args.uri, ser, args.slow) for ser in serializers]
    if args.shutdown:
        suites.append(run_shutdown(args.uri, serializers[-1]))
    failed = False
    for s in suites:
        if s.failures:
            failed = True
            for line in s.failures:
                print("FAIL " + line)
            print("%s: %d of %d checks FAILED" % (s.name, len(s.failures), s.checks))
        else:
            print("%s: %d checks ok" % (s.name, s.checks))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
