"""A Python Pyro5 client against the typed Rust objects of tests/tests/expose_interop.rs.

Usage: typed_client.py JSON-ARGS  (a dict: {"uri": ..., "serializer": ..., "check": name, ...})
Runs one named check and prints a JSON result; raises (exit 1) when something is off.
"""
import json
import sys
import time
import uuid

import Pyro5.api
import Pyro5.errors
import Pyro5.server


def proxy(args, uri=None):
    p = Pyro5.api.Proxy(uri or args["uri"])
    p._pyroSerializer = args["serializer"]
    p._pyroTimeout = 10
    return p


def expect_raise(fn, cls, text=None):
    try:
        fn()
    except cls as e:
        if text is not None and str(e) != text:
            raise AssertionError("expected %s(%r), got %s(%r)" % (cls.__name__, text, type(e).__name__, str(e)))
        return e
    raise AssertionError("expected %s, nothing raised" % cls.__name__)


class Overheated(Exception):
    pass


def check_calls(args):
    p = proxy(args)
    assert p.read() == 20.0
    assert p.set(25) == 25.0
    assert p.set(value=77, unit="F") == 25.0
    assert p.set(30, None) == 30.0
    assert p.read(unit="F") == 86.0
    e = expect_raise(lambda: p.set(-300), ValueError, "below absolute zero")
    assert "".join(Pyro5.errors.get_pyro_traceback(type(e), e, e.__traceback__)), "remote traceback"
    expect_raise(lambda: p.set(), TypeError, "Thermo.set() missing 1 required positional argument: 'value'")
    expect_raise(lambda: p.set(1, "C", 3), TypeError, "Thermo.set() takes 3 positional arguments but 4 were given")
    expect_raise(lambda: p.set(1, scale=2), TypeError, "Thermo.set() got an unexpected keyword argument 'scale'")
    # a user-named exception class: the client decides how to rebuild it
    Pyro5.api.register_dict_to_class("thermo.Overheated", lambda name, d: Overheated(*d["args"]))
    expect_raise(lambda: p.overheat(), Overheated, "too hot: 30")
    Pyro5.api.unregister_dict_to_class("thermo.Overheated")
    expect_raise(lambda: p.overheat(), Pyro5.errors.SerializeError, "unsupported serialized class: thermo.Overheated")
    # properties (Python's own marshal client cannot do remote attribute access in 5.17)
    if args["serializer"] != "marshal":
        check_properties(p)
    # oneway
    p.log("first")
    p.log("second")
    # Oneway calls run on the daemon's threads, in no set order (as Pyro's ONEWAY_THREADED):
    # give them up to 10 s on a busy machine.
    deadline = time.time() + 10
    while sorted(p.logged()) != ["first", "second"] and time.time() < deadline:
        time.sleep(0.005)
    assert sorted(p.logged()) == ["first", "second"], p.logged()
    # private names are not there
    expect_raise(lambda: p._pyroInvoke("_calibrate", (), {}), AttributeError, "attempt to access private attribute '_calibrate'")
    # context: correlation id and annotations in, response annotations out
    corr = uuid.uuid4()
    Pyro5.api.current_context.correlation_id = corr
    Pyro5.api.current_context.annotations = {"XTRA": b"hello"}
    got = p.context()
    Pyro5.api.current_context.correlation_id = None
    Pyro5.api.current_context.annotations = {}
    assert got == [corr.hex, "hello"] or got == (corr.hex, "hello"), got
    assert Pyro5.api.current_context.response_annotations.get("TEMP") == b"30.0", Pyro5.api.current_context.response_annotations
    # iterators
    assert list(p.history()) == [20.0, 25.0, 25.0, 30.0], "history"
    assert list(p.countdown(3)) == [3, 2, 1], "countdown"
    # *args and **kwargs
    first, more, options = p.gather(1, 2, 3, flag=True, label="x")
    assert (first, list(more), options) == (1, [2, 3], {"flag": True, "label": "x"}), (first, more, options)
    first, more, options = p.gather(first=4)
    assert (first, list(more), options) == (4, [], {}), (first, more, options)
    expect_raise(lambda: p.gather(), TypeError, "Thermo.gather() missing 1 required positional argument: 'first'")
    expect_raise(lambda: p.gather(1, first=2), TypeError, "Thermo.gather() got multiple values for argument 'first'")
    # a cursor stream whose call takes parameters
    assert list(p.steps(7, 3)) == [7, 4, 1], "steps"
    assert list(p.steps(start=2)) == [2, 1], "steps with the default step"
    expect_raise(lambda: p.steps(5, 0), ValueError, "step must not be zero")
    expect_raise(lambda: p.next_step(), AttributeError)
    # each item's reply carries its own annotations
    seen = []
    for item in p.labelled(3):
        seen.append((item, {k: bytes(v) for k, v in Pyro5.api.current_context.response_annotations.items()}))
    assert seen == [(i, {"LABL": b"item %d" % i, "ODD?": b"yes" if i % 2 else b"no"}) for i in range(3)], seen
    return {"ok": True}


def check_properties(p):
    assert p.target == 21.0
    p.target = 19.5
    assert p.target == 19.5
    assert p.name == "living room"
    expect_raise(lambda: setattr(p, "name", "x"), AttributeError)


def check_metadata(args):
    p = proxy(args)
    p._pyroBind()
    return {"methods": sorted(p._pyroMethods), "oneway": sorted(p._pyroOneway), "attrs": sorted(p._pyroAttrs)}


def reference_metadata(args):
    """What Python's daemon reports for the equivalent Python class."""
    @Pyro5.server.expose
    class Thermo:
        def read(self, unit=None): pass
        def set(self, value, unit=None): pass
        def overheat(self): pass
        @Pyro5.server.oneway
        def log(self, text): pass
        def logged(self): pass
        def context(self): pass
        def history(self): pass
        def countdown(self, start): pass
        def labelled(self, n): pass
        def steps(self, start, step=1): pass
        def gather(self, first, *more, **options): pass
        def _calibrate(self): pass
        @property
        def target(self): pass
        @target.setter
        def target(self, value): pass
        @property
        def name(self): pass
    meta = Pyro5.server._get_exposed_members(Thermo)
    return {k: sorted(v) for k, v in meta.items()}


def check_stream_close(args):
    p = proxy(args)
    it = p.countdown(10)
    assert next(it) == 10
    it.close()   # close_stream, oneway
    assert p.read() is not None
    return {"ok": True}


def check_stream_linger(args):
    p = proxy(args)
    it = p.countdown(3)
    assert next(it) == 3
    p._pyroReconnect()          # a new connection: the stream lingered meanwhile
    assert next(it) == 2        # and goes on over the new connection
    assert next(it) == 1
    expect_raise(lambda: next(it), StopIteration)
    return {"ok": True}


def check_counter(args):
    a, b = proxy(args), proxy(args)
    return {"a": [a.next(), a.next()], "b": [b.next(), b.next()]}


def check_autoproxy(args):
    p = proxy(args)
    counter = p.counter()
    assert isinstance(counter, Pyro5.api.Proxy), type(counter)
    counter._pyroSerializer = args["serializer"]
    return {"uri": str(counter._pyroUri), "next": counter.next(), "methods": sorted(counter._pyroMethods)}


class SeeingProxy(Pyro5.api.Proxy):
    """Keeps the daemon's handshake response."""
    def _pyroValidateHandshake(self, response):
        SEEN.append(response)


SEEN = []


def check_handshake(args):
    good = SeeingProxy(args["uri"])
    good._pyroSerializer = args["serializer"]
    good._pyroHandshake = {"token": "secret"}
    good._pyroBind()
    seen = SEEN
    bad = proxy(args)
    bad._pyroHandshake = {"token": "guess"}
    e = expect_raise(bad._pyroBind, Pyro5.errors.CommunicationError)
    return {"response": seen[0], "refusal": str(e)}


def main():
    args = json.loads(sys.argv[1])
    result = globals()[args["check"]](args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
