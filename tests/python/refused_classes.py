"""The Python side of tests/tests/refused_classes.rs.

server: a Pyro daemon serving object "refused" whose methods `take_proxy(callback)`,
  `take_point(point)`, `take_number(n)` and `take_two(anything, n)` say what they got.
  Prints the object's URI, serves until stdin closes.
client <json>: calls those methods on <json>["uri"] in every serializer with arguments a Pyro
  daemon refuses to read: an instance of a class of this script (`__main__.Secret`), one of a
  class of another module (`mymod.Thing`, registered on this side only), one passed by
  keyword, and their class dicts nested in a list and in a dict (as dicts: Pyro's marshal
  serializer turns only the arguments themselves into dicts); to `take_two`, a refused
  object beside a bad number (a Rust daemon reads `anything` as any value); and good
  arguments. Each call
  on a new proxy, since Python's daemon closes the connection after these errors. Prints one
  JSON object: for each "serializer method case", the exception class and text raised, or
  "ok".
"""

import json
import sys
import threading

import Pyro5.api
from Pyro5 import config

SERIALIZERS = ["serpent", "marshal", "json", "msgpack"]
METHOD_PARAMS = {"take_proxy": "callback", "take_point": "point", "take_number": "n", "take_two": "anything"}


class Secret:
    """A class a daemon may not recreate: its name has double underscores."""

    def __init__(self):
        self.word = "sesame"


class Thing:
    """Sent as `mymod.Thing`, a class Pyro does not know."""

    def __init__(self):
        self.size = 3


def thing_to_dict(obj):
    return {"__class__": "mymod.Thing", "size": obj.size}


@Pyro5.api.expose
class Refused:
    def take_proxy(self, callback):
        return type(callback).__name__

    def take_point(self, point):
        return type(point).__name__

    def take_number(self, n):
        return type(n).__name__

    def take_two(self, anything, n):
        return type(anything).__name__ + " " + type(n).__name__


def server():
    daemon = Pyro5.api.Daemon(host="127.0.0.1")
    uri = daemon.register(Refused(), "refused")
    print(uri, flush=True)
    threading.Thread(target=daemon.requestLoop, daemon=True).start()
    sys.stdin.read()
    daemon.shutdown()


def cases(method):
    """(name, positional args, keyword args) of the calls to `method`."""
    secret = {"__class__": "__main__.Secret", "word": "sesame"}
    thing = {"__class__": "mymod.Thing", "size": 3}
    if method == "take_two":
        return [
            ("secret_beside_bad_number", (Secret(), "text"), {}),
            ("thing_by_keyword_beside_bad_number", (), {"anything": Thing(), "n": "text"}),
            ("good", ({"a": 1}, 5), {}),
        ]
    refused = [
        ("secret", (Secret(),), {}),
        ("thing", (Thing(),), {}),
        ("secret_by_keyword", (), {METHOD_PARAMS[method]: Secret()}),
        ("secret_in_list", ([1, secret],), {}),
        ("thing_in_dict", ({"a": [thing], "b": 2},), {}),
        ("secret_beside_thing", ([thing, secret],), {}),
    ]
    good = {"take_point": [("good", ({"x": 1, "y": 2},), {})], "take_number": [("good", (7,), {})]}
    return refused + good.get(method, [])


def client(args):
    Pyro5.api.register_class_to_dict(Thing, thing_to_dict)
    out = {}
    for serializer in SERIALIZERS:
        config.SERIALIZER = serializer
        for method in METHOD_PARAMS:
            for name, vargs, kwargs in cases(method):
                key = "%s %s %s" % (serializer, method, name)
                with Pyro5.api.Proxy(args["uri"]) as proxy:
                    try:
                        getattr(proxy, method)(*vargs, **kwargs)
                        out[key] = "ok"
                    except Exception as e:
                        out[key] = [type(e).__module__ + "." + type(e).__name__, str(e)]
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server()
    else:
        client(json.loads(sys.argv[2]))
