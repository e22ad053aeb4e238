"""The Python side of tests/tests/callback_interop.rs.

client <json>: a Pyro client with its own daemon serving a callback object. It passes the
  callback (as a proxy naming the serializer, and as the object itself, autoproxied) to a
  Rust daemon's methods, which call it back: a normal call with a result, a oneway call and
  a call raising an exception. Checks what comes back, prints {"ok": true} or fails.
  <json> is {"uri": <the Rust object>, "serializer": <name>}.
server: a Pyro daemon serving a factory whose `make` returns an autoproxied object and whose
  `relay` calls a proxy it is given. Prints the factory's URI, serves until stdin closes.
"""

import json
import sys
import threading
import time

import Pyro5.api
import Pyro5.errors
from Pyro5 import config
from Pyro5.callcontext import current_context

SERIALIZER_IDS = {"serpent": 1, "marshal": 2, "json": 3, "msgpack": 4}


class Callback:
    def __init__(self):
        self.notes = []
        self.noted = threading.Event()
        self.release = threading.Event()

    @Pyro5.api.expose
    def double(self, x):
        return [2 * x, current_context.serializer_id]

    @Pyro5.api.expose
    @Pyro5.api.oneway
    def note(self, text):
        # Held until the client saw the Rust method return: only a oneway call lets it.
        self.release.wait(10)
        self.notes.append(text)
        self.noted.set()

    @Pyro5.api.expose
    @Pyro5.api.callback
    def fail(self, text):
        # @callback: Pyro raises it in this daemon too, after answering the caller.
        raise ValueError("callback failed: " + text)


def check(what, got, expected):
    if got != expected:
        raise AssertionError("%s: got %r, expected %r" % (what, got, expected))


def client(args):
    serializer = args["serializer"]
    config.SERIALIZER = serializer
    daemon = Pyro5.api.Daemon()
    callback = Callback()
    daemon.register(callback)
    threading.Thread(target=daemon.requestLoop, daemon=True).start()
    named = daemon.proxyFor(callback)
    named._pyroSerializer = serializer
    with Pyro5.api.Proxy(args["uri"]) as server:
        # What the state carried, as the Rust side read it.
        check("describe", list(server.describe(named)),
              [str(named._pyroUri), ["double", "fail", "note"], ["note"], serializer])
        # The object itself, autoproxied (Python's marshal does no autoproxy: its proxy,
        # naming no serializer).
        plain = daemon.proxyFor(callback) if serializer == "marshal" else callback
        check("describe autoproxy", server.describe(plain)[3], None)
        # A normal callback, in the serializer the proxy names.
        check("call_back", server.call_back(named, 21), [42, SERIALIZER_IDS[serializer]])
        # No serializer named: the Rust side speaks its configured one.
        check("call_back autoproxy", server.call_back(plain, 4), [8, SERIALIZER_IDS["serpent"]])
        # A oneway callback: the Rust method returns while the callback still runs.
        start = time.time()
        server.notify(named, "hello")
        check("notify returned at once", time.time() - start < 5, True)
        callback.release.set()
        check("noted", callback.noted.wait(10), True)
        check("notes", callback.notes, ["hello"])
        # A callback raising: the Rust side sees its class and text...
        check("fail_caught", server.fail_caught(named), "builtins.ValueError|callback failed: caught")
        # ...and passes it on to its own caller as Python would.
        try:
            server.fail_passed_on(named)
            raise AssertionError("fail_passed_on did not raise")
        except ValueError as e:
            check("passed on", str(e), "callback failed: passed on")
        # The proxy given back by the Rust method is a proxy here again.
        back = server.hand_back(named)
        check("hand_back type", type(back), Pyro5.api.Proxy)
        check("hand_back uri", back._pyroUri, named._pyroUri)
        check("hand_back call", back.double(5)[0], 10)
        back._pyroRelease()
    daemon.shutdown()
    print(json.dumps({"ok": True}))


class Thing:
    def __init__(self, name):
        self.name = name

    @Pyro5.api.expose
    def hello(self, who):
        return "%s greets %s" % (self.name, who)

    @Pyro5.api.expose
    @Pyro5.api.oneway
    def poke(self):
        pass

    @Pyro5.api.expose
    @property
    def label(self):
        return self.name


@Pyro5.api.expose
class Factory:
    def make(self, name):
        thing = Thing(name)
        self._pyroDaemon.register(thing)
        if current_context.serializer_id == SERIALIZER_IDS["marshal"]:
            # Python's marshal does no autoproxy: the proxy it would make.
            return self._pyroDaemon.proxyFor(thing)
        return thing

    def relay(self, proxy, who):
        # A proxy a Rust client passed: called from here.
        if not isinstance(proxy, Pyro5.api.Proxy):
            raise TypeError("not a proxy: %r" % (proxy,))
        with proxy:
            return [proxy.hello(who), sorted(proxy._pyroMethods), proxy._pyroSerializer]


def server():
    daemon = Pyro5.api.Daemon()
    uri = daemon.register(Factory(), "factory")
    print(uri, flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), daemon.shutdown()), daemon=True).start()
    daemon.requestLoop()


if __name__ == "__main__":
    if sys.argv[1] == "client":
        client(json.loads(sys.argv[2]))
    else:
        server()
