"""A Python Pyro5 client against the demo device object (embassy-adapter/examples/common/device.rs)
served by pyro5-embassy: on a TAP device, or from emulated firmware.

Usage: device_client.py  with JSON on stdin: {"uri": "PYRO:device@10.42.0.2:9999",
"name": "tap-device",
"serializers": ["json", "serpent", ...], "refused": ["marshal", ...], "big": 3000, "rounds": 50}
("refused": serializers the device is built without, whose CONNECT must be rejected).
Prints a JSON report; raises (exit 1) when something is off.
"""
import json
import struct
import sys
import threading
import time

import Pyro5.api
import Pyro5.errors


def proxy(uri, serializer):
    p = Pyro5.api.Proxy(uri)
    p._pyroSerializer = serializer
    p._pyroTimeout = 10
    return p


def f32(x):
    """x rounded to the nearest 32-bit float (what the device computes in), as a Python float."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def expect(value, wanted, what):
    if value != wanted:
        raise AssertionError("%s: expected %r, got %r" % (what, wanted, value))


def check_serializer(uri, serializer, big, name):
    report = {}
    with proxy(uri, serializer) as p:
        expect(p.add(2, 3), 5, "add")
        expect(p.add(a=-7, b=2**40), 2**40 - 7, "add with kwargs")
        expect(p.echo("héllo wörld"), "héllo wörld", "echo")
        text = "".join(chr(0x41 + i % 26) for i in range(big))
        expect(p.echo(text), text, "echo of a payload larger than one TCP segment")
        expect(p.set_setpoint(21.5), 21.5, "set_setpoint")
        expect(p.temperature(), 21.0, "temperature")
        try:
            p.set_setpoint(99)
            raise AssertionError("set_setpoint(99) raised nothing")
        except ValueError as e:
            expect(str(e), "setpoint out of range 5..30", "ValueError text")
            report["error"] = "%s: %s" % (type(e).__name__, e)
        try:
            p.add(1)
            raise AssertionError("add(1) raised nothing")
        except TypeError as e:
            report["type_error"] = str(e)
        before = p.blinks()
        p.blink(3)
        expect(p.blinks(), before + 3, "blinks after a oneway blink(3)")
        items = list(p.readings())
        expect([round(x, 2) for x in items], [21.6, 21.7, 21.8, 21.9, 22.0], "stream of readings")
        # Exactly the device's f32 values: the shortest text that reads back to each
        # (17 digits here, e.g. 21.600000381469727) must have crossed the wire.
        expect(items, [f32(21.5 + f32(k / 10)) for k in range(1, 6)], "stream of readings, every bit")
        expect(p.set_setpoint(f32(22.1)), f32(22.1), "a 17-digit float there and back")
        expect(p.set_setpoint(21.5), 21.5, "set_setpoint back")
        # Pyro5 5.17's own marshal serializer fails on attribute access (it sends no
        # kwargs dict), Python daemon or not: properties are checked in the others.
        if serializer != "marshal":
            expect(p.name, name, "name property")
            p.mode = 3
            expect(p.mode, 3, "mode property after set")
        p._pyroBind()
        report["methods"] = sorted(p._pyroMethods)
        report["attrs"] = sorted(p._pyroAttrs)
        report["oneway"] = sorted(p._pyroOneway)
        expect(report["methods"], ["add", "blink", "blinks", "echo", "readings", "set_setpoint", "temperature"], "methods")
        expect(report["attrs"], ["mode", "name"], "attrs")
        expect(report["oneway"], ["blink"], "oneway")
    # The daemon object answers as Python's does.
    with proxy(uri.replace("PYRO:device@", "PYRO:Pyro.Daemon@"), serializer) as d:
        expect(d.ping(), None, "Pyro.Daemon.ping")
        expect(sorted(d.registered()), ["Pyro.Daemon", "device"], "Pyro.Daemon.registered")
        meta = d.get_metadata("device")
        expect(sorted(meta["oneway"]), ["blink"], "get_metadata oneway")
    return report


def concurrent(uri, rounds):
    errors = []
    results = [0, 0]

    def worker(i):
        try:
            with proxy(uri, "json" if i == 0 else "serpent") as p:
                for n in range(rounds):
                    expect(p.add(i, n), i + n, "concurrent add")
                    results[i] += 1
        except Exception as e:  # reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors or results != [rounds, rounds]:
        raise AssertionError("concurrent clients: %r %r" % (errors, results))
    return results


def reconnects(uri, times):
    done = 0
    for i in range(times):
        with proxy(uri, "json") as p:
            expect(p.add(i, 1), i + 1, "add after reconnect")
            done += 1
    p = proxy(uri, "serpent")
    p.add(1, 1)
    p._pyroRelease()
    expect(p.add(2, 2), 4, "call after _pyroRelease")
    p._pyroReconnect()
    expect(p.add(3, 3), 6, "call after _pyroReconnect")
    p._pyroRelease()
    return done


def refused(uri, serializer):
    """What a proxy speaking a serializer the device is built without gets."""
    with proxy(uri, serializer) as p:
        try:
            p.add(1, 2)
        except Pyro5.errors.CommunicationError as e:
            return "%s: %s" % (type(e).__name__, e)
    raise AssertionError("a call in %s raised nothing" % serializer)


def unknown_object(uri):
    with proxy(uri.replace("PYRO:device@", "PYRO:no.such.object@"), "json") as p:
        try:
            p.add(1, 2)
        except Pyro5.errors.PyroError as e:
            return "%s: %s" % (type(e).__name__, e)
    raise AssertionError("a call to an unknown object raised nothing")


def main():
    args = json.load(sys.stdin)
    uri = args["uri"]
    report = {"serializers": {}}
    started = time.perf_counter()
    for serializer in args.get("serializers", ["json", "serpent"]):
        report["serializers"][serializer] = check_serializer(uri, serializer, args.get("big", 3000), args["name"])
    report["refused"] = {serializer: refused(uri, serializer) for serializer in args.get("refused", [])}
    report["concurrent"] = concurrent(uri, args.get("rounds", 50))
    report["reconnects"] = reconnects(uri, args.get("reconnects", 10))
    report["unknown_object"] = unknown_object(uri)
    with proxy(uri, "json") as p:
        p.add(0, 0)
        n = args.get("timing_calls", 200)
        t0 = time.perf_counter()
        for i in range(n):
            p.add(i, i)
        report["rtt_us"] = (time.perf_counter() - t0) / n * 1e6
    report["seconds"] = time.perf_counter() - started
    print(json.dumps(report))


if __name__ == "__main__":
    main()
