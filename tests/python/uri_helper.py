"""Parse URI strings with the real Pyro5.core.URI, for tests/tests/uri_interop.rs.

stdin:  {"cases": [{"input": str, "ours": str or null}, ...]}
        "ours" is str() of pyro5-rs's parse of "input", when pyro5-rs accepted it.
stdout: {"pyro5": version, "results": [{"parsed": D(input),
                                         "py_reparsed": D(str(URI(input))) or null,
                                         "ours_reparsed": D(ours) or null}, ...]}
where D(text) describes what URI(text) does:
  {"accepted": false, "error": "PyroError: <message>"}  or
  {"accepted": true, "protocol", "object" (PYROMETA: sorted list of tags), "host",
   "port" (decimal text, ints are unbounded), "sockname", "location", "str",
   "state": [protocol, object, sockname, host, port]}   (URI.__getstate__ order)
Only Pyro5's PyroError is caught: anything else fails the helper, and so the test.
"""
import json
import sys

import Pyro5
from Pyro5 import config, core, errors

config.reset(use_environment=False)
assert config.NS_PORT == 9090, config.NS_PORT


def describe(text):
    try:
        uri = core.URI(text)
    except errors.PyroError as x:
        return {"accepted": False, "error": "%s: %s" % (type(x).__name__, x)}
    obj = sorted(uri.object) if isinstance(uri.object, set) else uri.object
    port = None if uri.port is None else str(uri.port)
    return {
        "accepted": True,
        "protocol": uri.protocol,
        "object": obj,
        "host": uri.host,
        "port": port,
        "sockname": uri.sockname,
        "location": uri.location,
        "str": str(uri),
        "state": [uri.protocol, obj, uri.sockname, uri.host, port],
    }


def run(case):
    text = case["input"]
    parsed = describe(text)
    py_reparsed = describe(str(core.URI(text))) if parsed["accepted"] else None
    ours = case.get("ours")
    return {
        "parsed": parsed,
        "py_reparsed": py_reparsed,
        "ours_reparsed": None if ours is None else describe(ours),
    }


def main():
    request = json.load(sys.stdin)
    results = [run(case) for case in request["cases"]]
    json.dump({"pyro5": Pyro5.__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
