"""Drive a Pyro5 name server through every remote method, in one serializer, and print the
normalized outcomes, one JSON line per step (the same script runs against Python's name server and ours,
and the outputs must be equal). Usage: ns_client.py HOST PORT SERIALIZER"""
import json
import sys

import Pyro5.api
import Pyro5.core
import Pyro5.errors

host, port, serializer = sys.argv[1], int(sys.argv[2]), sys.argv[3]
Pyro5.config.SERIALIZER = serializer


def norm(value):
    """A JSON-able account of a result, keeping Python types and hiding the NS port."""
    if isinstance(value, Pyro5.core.URI):
        return {"URI": str(value).replace(":%d" % port, ":NSPORT")}
    if isinstance(value, (set, frozenset)):
        return {type(value).__name__: sorted(norm(v) for v in value)}
    if isinstance(value, tuple):
        return {"tuple": [norm(v) for v in value]}
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value):
            return sorted(norm(v) for v in value)  # a set, sent as a list: its order is the hash's
        return [norm(v) for v in value]
    if isinstance(value, dict):
        return {"dict": [[norm(k), norm(v)] for k, v in value.items()]}
    if isinstance(value, str):
        return value.replace(":%d" % port, ":NSPORT")
    return value


def outcome(fn, *args, **kwargs):
    try:
        return {"ok": norm(fn(*args, **kwargs))}
    except Exception as x:
        text = str(x)
        if text.startswith("invalid regex: "):
            text = "invalid regex: ..."  # the regex engines word their errors differently
        return {"error": type(x).__name__, "text": text}


ns = Pyro5.core.locate_ns(host, port)
U = Pyro5.core.URI
steps = [
    ("ping", ns.ping),
    ("count0", ns.count),
    ("register_str", ns.register, "example.one", "PYRO:obj1@127.0.0.1:5001"),
    ("register_uri_meta", lambda: ns.register("example.two", U("PYRO:obj2@127.0.0.1:5002"), metadata={"m1", "m2"})),
    ("register_list_meta", lambda: ns.register("other.three", "PYRO:obj3@127.0.0.1:5003", False, ["m2", "m2"])),
    ("register_safe_dup", lambda: ns.register("other.three", "PYRO:x@127.0.0.1:1", safe=True)),
    ("register_safe_new", lambda: ns.register("other.four", "PYRONAME:example.one", safe=True, metadata=())),
    ("register_replace", ns.register, "other.four", "PYRO:obj4@[::1]:5004"),
    ("register_bad_uri", ns.register, "bad", "PYRO:nolocation"),
    ("register_bad_port", ns.register, "bad", "PYRO:obj@host:port"),
    ("register_bad_proto", ns.register, "bad", "FOO:obj@host:1"),
    ("register_name_int", ns.register, 42, "PYRO:obj@h:1"),
    ("register_uri_int", ns.register, "bad", 42),
    ("register_meta_str", lambda: ns.register("bad", "PYRO:obj@h:1", metadata="abc")),
    ("register_meta_int", lambda: ns.register("bad", "PYRO:obj@h:1", metadata=5)),
    ("register_missing", lambda: ns.register("bad")),
    ("register_too_many", lambda: ns.register("a", "PYRO:obj@h:1", False, None, 5)),
    ("register_bad_kw", lambda: ns.register("a", "PYRO:obj@h:1", meta=[])),
    ("lookup", ns.lookup, "example.one"),
    ("lookup_meta", lambda: ns.lookup("example.two", return_metadata=True)),
    ("lookup_meta_none", ns.lookup, "example.one", True),
    ("lookup_pyroname", ns.lookup, "other.four"),
    ("lookup_missing", ns.lookup, "missing"),
    ("lookup_int", ns.lookup, 5),
    ("lookup_noarg", lambda: ns.lookup()),
    ("list", ns.list),
    ("list_prefix", lambda: ns.list(prefix="example.")),
    ("list_regex", lambda: ns.list(regex=r".*\.t")),
    ("list_regex_anchored", lambda: ns.list(regex="one")),
    ("list_regex_bad", lambda: ns.list(regex="(")),
    ("list_meta", lambda: ns.list(return_metadata=True)),
    ("list_prefix_meta", ns.list, "other", None, True),
    ("list_both", lambda: ns.list(prefix="a", regex="b")),
    ("list_empty_prefix", lambda: ns.list(prefix="")),
    ("yplookup_all", lambda: ns.yplookup(meta_all=["m1"])),
    ("yplookup_all2", lambda: ns.yplookup(meta_all={"m1", "m2"}, return_metadata=False)),
    ("yplookup_any", lambda: ns.yplookup(meta_any=("m2", "nope"), return_metadata=False)),
    ("yplookup_class", lambda: ns.yplookup(["class:Pyro5.nameserver.NameServer"])),
    ("yplookup_none", ns.yplookup),
    ("yplookup_both", lambda: ns.yplookup(["a"], ["b"])),
    ("yplookup_all_str", lambda: ns.yplookup(meta_all="m1")),
    ("yplookup_any_str", lambda: ns.yplookup(meta_any="m1")),
    ("set_metadata", ns.set_metadata, "example.one", ["new", "tags"]),
    ("lookup_after_set", ns.lookup, "example.one", True),
    ("set_metadata_none", ns.set_metadata, "example.two", None),
    ("list_after_set", lambda: ns.list(return_metadata=True)),
    ("set_metadata_missing", ns.set_metadata, "missing", []),
    ("set_metadata_str", ns.set_metadata, "example.one", "str"),
    ("set_metadata_name_int", ns.set_metadata, 1, []),
    ("count", ns.count),
    ("remove_name", ns.remove, "example.one"),
    ("remove_missing", ns.remove, "missing"),
    ("remove_ns_itself", ns.remove, "Pyro.NameServer"),
    ("remove_prefix_ns", lambda: ns.remove(prefix="Pyro")),
    ("remove_prefix", lambda: ns.remove(prefix="example")),
    ("remove_regex", lambda: ns.remove(regex="oth.*r")),
    ("remove_regex_all", lambda: ns.remove(regex=".*")),
    ("remove_nothing", ns.remove),
    ("count_end", ns.count),
    ("list_end", lambda: ns.list(return_metadata=True)),
]
result = {}
for name, fn, *args in steps:
    result[name] = outcome(fn, *args)
for name, value in result.items():
    print(json.dumps([name, value]))
