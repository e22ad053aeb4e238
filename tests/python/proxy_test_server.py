"""A Pyro5 daemon serving one object for the Rust proxy's interop tests
(tests/tests/proxy_interop.rs): every kind of call the manual describes.

Usage: python proxy_test_server.py [--port N] [--host H]
Prints "uri: PYRO:proxy.test@host:port" on stdout (flushed) and serves until killed.
The object (id "proxy.test", instance_mode single, so every proxy sees the same state):

  * add(a, b=10, *rest, **kw)         -> a + b + sum(rest) + sum(kw.values())
  * describe(a, b=2, *rest, c=3, **kw) -> {"a", "b", "rest" (list), "c", "kw"}: what arrived where
  * fail(message, code)               -> raises CustomError(message, code) with .code and .extra
  * record(value) (oneway)            -> appends value to the log after 50 ms
  * slow_record(seconds, value) (oneway) -> sleeps, then appends value
  * recorded()                        -> the log, as a list
  * clear()                           -> empties the log
  * value (property, read/write), readonly (property, read only)
  * count(n)                          -> a generator of 0..n-1; each generator that ends or is
                                         closed (by close_stream) increments `closed`
  * slow_count(n, seconds)            -> a generator of 0..n-1, sleeping before each item
  * generators_closed()               -> that count
  * stream_count()                    -> len(daemon.streaming_responses)
  * slow(seconds)                     -> sleeps, returns seconds
  * get_dict/get_set/get_tuple/get_bytes/get_complex/get_bigint/get_frozenset/get_float
  * big(n)                            -> "x" * n
  * correlation()                     -> current_context.correlation_id.hex, or None
  * annotations()                     -> {key: value.hex()} of the request's annotations; sets
                                         response annotation XRSP = b"pong" + each XREQ value
  * last_handshake()                  -> the handshake data of the most recent connection
  * echo(x)                           -> x

The daemon's validateHandshake stores the data, refuses "reject me" (ValueError) and answers
{"welcome": data}.
"""
import argparse
import sys
import threading
import time

import Pyro5.api
from Pyro5.api import behavior, current_context, expose, oneway

OBJECT_ID = "proxy.test"


class CustomError(Exception):
    """An exception with attributes of its own."""

    def __init__(self, message, code):
        super().__init__(message, code)
        self.code = code
        self.extra = "custom attribute"


@expose
@behavior(instance_mode="single")
class TestObject:
    handshake_data = None  # set by the daemon's validateHandshake

    def __init__(self):
        self._lock = threading.Lock()
        self._log = []
        self._value = 42
        self._closed = 0

    # ---- calls

    def add(self, a, b=10, *rest, **kw):
        return a + b + sum(rest) + sum(kw.values())

    def describe(self, a, b=2, *rest, c=3, **kw):
        return {"a": a, "b": b, "rest": list(rest), "c": c, "kw": kw}

    def echo(self, x):
        return x

    def fail(self, message, code):
        raise CustomError(message, code)

    # ---- oneway and state

    @oneway
    def record(self, value):
        time.sleep(0.05)
        with self._lock:
            self._log.append(value)

    @oneway
    def slow_record(self, seconds, value):
        time.sleep(seconds)
        with self._lock:
            self._log.append(value)

    def recorded(self):
        with self._lock:
            return list(self._log)

    def clear(self):
        with self._lock:
            self._log.clear()

    # ---- properties

    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, v):
        self._value = v

    @property
    def readonly(self):
        return "fixed"

    # ---- streams

    def count(self, n):
        try:
            for i in range(n):
                yield i
        finally:
            with self._lock:
                self._closed += 1

    def slow_count(self, n, seconds):
        for i in range(n):
            time.sleep(seconds)
            yield i

    def generators_closed(self):
        with self._lock:
            return self._closed

    def stream_count(self):
        return len(self._pyroDaemon.streaming_responses)

    # ---- timing

    def slow(self, seconds):
        time.sleep(seconds)
        return seconds

    # ---- return types

    def get_dict(self):
        return {"one": 1, 2: "two", (3, 4): [5]}

    def get_set(self):
        return {1, 2, 3}

    def get_frozenset(self):
        return frozenset({"a"})

    def get_tuple(self):
        return (1, "two", 3.5)

    def get_bytes(self):
        return b"\x00\x01\xffbytes"

    def get_complex(self):
        return 1.5 - 2j

    def get_bigint(self):
        return 2 ** 100

    def big(self, n):
        return "x" * n

    def get_float(self):
        return -0.0

    # ---- context

    def correlation(self):
        cid = current_context.correlation_id
        return cid.hex if cid else None

    def annotations(self):
        received = {key: bytes(value).hex() for key, value in current_context.annotations.items()}
        current_context.response_annotations = {"XRSP": b"pong" + bytes(current_context.annotations.get("XREQ", b""))}
        return received

    def last_handshake(self):
        return TestObject.handshake_data


class TestDaemon(Pyro5.api.Daemon):
    def validateHandshake(self, conn, data):
        TestObject.handshake_data = data
        if data == "reject me":
            raise ValueError("handshake refused: " + str(data))
        return {"welcome": data}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    daemon = TestDaemon(host=args.host, port=args.port)
    # The class, so that instance_mode single decides: one instance for every proxy.
    uri = daemon.register(TestObject, OBJECT_ID)
    print("uri: %s" % uri, flush=True)
    daemon.requestLoop()


if __name__ == "__main__":
    sys.exit(main())
