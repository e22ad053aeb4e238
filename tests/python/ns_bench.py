"""Load for name server benchmarks: registrations/s or lookups/s from K client processes.

Usage: ns_bench.py URI --mode register|lookup --procs K --seconds S
Each process has its own proxy to the name server (URI = PYRO:Pyro.NameServer@host:port),
connects first, waits at a barrier, then calls back to back for S seconds. Prints one JSON
line: {"calls": total, "seconds": s, "rate": total / s}. Any error: exit 1.
"""
import argparse
import json
import multiprocessing
import sys
import time

import Pyro5.api


def worker(index, uri, mode, seconds, barrier, results):
    try:
        ns = Pyro5.api.Proxy(uri)
        ns._pyroTimeout = 10
        ns._pyroBind()
        if mode == "lookup":
            for i in range(20):
                ns.register("bench.lookup.%d.%d" % (index, i), "PYRO:obj@localhost:%d" % (1000 + i))
        barrier.wait(60)
        calls = 0
        start = time.perf_counter()
        deadline = start + seconds
        now = start
        while now < deadline:
            if mode == "register":
                ns.register("bench.reg.%d.%d" % (index, calls), "PYRO:obj@localhost:%d" % (calls % 60000 + 1))
            else:
                uri_back = ns.lookup("bench.lookup.%d.%d" % (index, calls % 20))
                if uri_back.port != 1000 + calls % 20:
                    raise RuntimeError("wrong lookup result %s" % uri_back)
            calls += 1
            now = time.perf_counter()
        results.put((calls, now - start, None))
    except Exception as e:  # reported, the run fails
        results.put((0, 0.0, "%s: %s" % (type(e).__name__, e)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("uri")
    parser.add_argument("--mode", choices=["register", "lookup"], required=True)
    parser.add_argument("--procs", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    barrier = multiprocessing.Barrier(args.procs)
    results = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=worker, args=(i, args.uri, args.mode, args.seconds, barrier, results))
             for i in range(args.procs)]
    for p in procs:
        p.start()
    got = [results.get(timeout=args.seconds + 120) for _ in procs]
    for p in procs:
        p.join(30)
    errors = [e for _, _, e in got if e]
    if errors:
        print(errors[0], file=sys.stderr)
        sys.exit(1)
    total = sum(c for c, _, _ in got)
    seconds = max(s for _, s, _ in got)
    print(json.dumps({"calls": total, "seconds": seconds, "rate": total / seconds}))


if __name__ == "__main__":
    main()
