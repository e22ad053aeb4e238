"""Pyro5's own serializers, driven line by line by the Rust round-trip tests.

Each stdin line is a JSON request, each stdout line its JSON answer:
  {"format": name, "hex": bytes Rust wrote, "expected": tagged value}
    -> {"ok": bool, "got": tagged(loads(ours)), "want": tagged(loads(dumps(expected))),
        "hex": dumps(loads(ours)) (what Python sends back), "back": tagged(loads(hex)),
        "error": text}
The tagged form is the one of shared/vectors ($int, $float, $bytes, $tuple, $set,
$frozenset, $dict, $complex), and $datetime (timestamp) / $date (ordinal) for msgpack's. "want" is what Python itself gets when it sends `expected`
through the same format: the test passes when our bytes give Python exactly that.
"""
import datetime
import json
import math
import sys

from Pyro5 import serializers


def to_py(t):
    if isinstance(t, list):
        return [to_py(x) for x in t]
    if isinstance(t, dict):
        if len(t) == 1:
            (k, v), = t.items()
            if k == "$int":
                return int(v)
            if k == "$float":
                return float(v)
            if k == "$bytes":
                return bytes.fromhex(v)
            if k == "$tuple":
                return tuple(to_py(x) for x in v)
            if k == "$set":
                return set(to_py(x) for x in v)
            if k == "$frozenset":
                return frozenset(to_py(x) for x in v)
            if k == "$dict":
                return {to_py(a): to_py(b) for a, b in v}
            if k == "$complex":
                return complex(to_py(v[0]), to_py(v[1]))
            if k == "$datetime":
                return datetime.datetime.fromtimestamp(to_py(v))
            if k == "$date":
                return datetime.date.fromordinal(v)
        return {k: to_py(v) for k, v in t.items()}
    return t


def tag(v):
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v if abs(v) < 2 ** 53 else {"$int": str(v)}
    if isinstance(v, float):
        if math.isnan(v):
            return {"$float": "nan"}
        if math.isinf(v):
            return {"$float": "inf" if v > 0 else "-inf"}
        if v == 0.0 and math.copysign(1.0, v) < 0:
            return {"$float": "-0.0"}
        return v
    if isinstance(v, complex):
        return {"$complex": [tag(v.real), tag(v.imag)]}
    if isinstance(v, (bytes, bytearray)):
        return {"$bytes": bytes(v).hex()}
    if isinstance(v, tuple):
        return {"$tuple": [tag(x) for x in v]}
    if isinstance(v, list):
        return [tag(x) for x in v]
    if isinstance(v, frozenset):
        return {"$frozenset": sorted((tag(x) for x in v), key=repr)}
    if isinstance(v, set):
        return {"$set": sorted((tag(x) for x in v), key=repr)}
    if isinstance(v, dict):
        return {"$dict": [[tag(a), tag(b)] for a, b in v.items()]}
    if isinstance(v, datetime.datetime):
        return {"$datetime": tag(v.timestamp())}
    if isinstance(v, datetime.date):
        return {"$date": v.toordinal()}
    return {"$repr": repr(v)}


def same(a, b):
    """Equal in value *and* type; NaN equals NaN, -0.0 differs from 0.0, sets unordered."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, complex):
        return same(a.real, b.real) and same(a.imag, b.imag)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, (set, frozenset)):
        rest = list(b)
        for x in a:
            for i, y in enumerate(rest):
                if same(x, y):
                    del rest[i]
                    break
            else:
                return False
        return not rest
    if isinstance(a, dict):
        return len(a) == len(b) and all(same(k, l) and same(v, w) for (k, v), (l, w) in zip(a.items(), b.items()))
    return a == b


def sets_as_tuples(t):
    """json and msgpack write a set as an array in the set's iteration order: to compare
    order-sensitively, let Python write the set's items in the order we wrote them."""
    if isinstance(t, list):
        return [sets_as_tuples(x) for x in t]
    if isinstance(t, dict):
        if len(t) == 1 and "$set" in t:
            return {"$tuple": [sets_as_tuples(x) for x in t["$set"]]}
        return {k: sets_as_tuples(v) for k, v in t.items()}
    return t


def handle(req):
    ser = serializers.serializers[req["format"]]
    expected = req["expected"]
    if req["format"] in ("json", "msgpack"):
        expected = sets_as_tuples(expected)
    want = ser.loads(ser.dumps(to_py(expected)))
    try:
        got = ser.loads(bytes.fromhex(req["hex"]))
    except Exception as e:  # noqa: BLE001 - reported to the test
        return {"ok": False, "error": "%s: %s" % (type(e).__name__, e), "want": tag(want)}
    dumped = ser.dumps(got)
    return {"ok": same(got, want), "got": tag(got), "want": tag(want), "hex": dumped.hex(),
            "back": tag(ser.loads(dumped))}


def main():
    for line in sys.stdin:
        try:
            answer = handle(json.loads(line))
        except Exception as e:  # noqa: BLE001
            answer = {"ok": False, "error": "helper: %s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
