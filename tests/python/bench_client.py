"""Load generator for Pyro5 echo-server benchmarks (needs nothing beyond Pyro5).

  python bench_client.py URI --mode seq --seconds 3 --serializer serpent [--payload-bytes N]
      one proxy, back-to-back echo(<short str>) calls for the given time; prints one
      JSON line: {"calls": n, "seconds": s, "rate": r}
  python bench_client.py URI --mode par --procs K --seconds 3 --serializer serpent
      K processes, each with its own proxy; every process connects first, then all
      start together at a barrier; prints one JSON line with the totals:
      {"calls": total, "seconds": s, "rate": total / s, "procs": K}
      (s is the longest single process run time).

The echoed argument is "hello", or with --payload-bytes N a str of N ASCII characters.
Every reply is checked against the argument; a wrong reply or any error aborts the run
with a message on stderr and exit status 1.
"""
import argparse
import json
import multiprocessing
import queue
import sys
import time

import Pyro5.api

SERIALIZERS = ("serpent", "json", "marshal", "msgpack")
CALL_TIMEOUT = 10.0      # per-call socket timeout, so a stuck server can't hang the run
BARRIER_TIMEOUT = 60.0   # how long processes wait for each other to connect


def make_message(payload_bytes):
    return "hello" if payload_bytes is None else "x" * payload_bytes


def connect(uri, serializer):
    proxy = Pyro5.api.Proxy(uri)
    proxy._pyroSerializer = serializer
    proxy._pyroTimeout = CALL_TIMEOUT
    proxy._pyroBind()   # connect (and fetch metadata) before the clock starts
    return proxy


def call_loop(proxy, message, seconds):
    """echo(message) back to back for `seconds`; returns (calls, elapsed seconds)."""
    echo = proxy.echo
    calls = 0
    start = time.perf_counter()
    deadline = start + seconds
    now = start
    while now < deadline:
        reply = echo(message)
        if reply != message:
            raise RuntimeError("wrong echo reply: %r" % (reply if len(repr(reply)) < 200 else type(reply)))
        calls += 1
        now = time.perf_counter()
    return calls, now - start


def worker(index, uri, serializer, message, seconds, barrier, results):
    try:
        proxy = connect(uri, serializer)
    except Exception as exc:
        barrier.abort()   # release the others instead of letting them wait for us
        results.put((index, "error", "connect failed: %s: %s" % (type(exc).__name__, exc)))
        return
    try:
        barrier.wait(BARRIER_TIMEOUT)
    except Exception as exc:
        results.put((index, "error", "barrier broken (another process failed): %s" % type(exc).__name__))
        proxy._pyroRelease()
        return
    try:
        calls, elapsed = call_loop(proxy, message, seconds)
    except Exception as exc:
        results.put((index, "error", "%s: %s" % (type(exc).__name__, exc)))
    else:
        results.put((index, "ok", (calls, elapsed)))
    finally:
        proxy._pyroRelease()


def run_seq(args, message):
    proxy = connect(args.uri, args.serializer)
    try:
        calls, elapsed = call_loop(proxy, message, args.seconds)
    finally:
        proxy._pyroRelease()
    return {"calls": calls, "seconds": round(elapsed, 6), "rate": round(calls / elapsed, 1)}


def run_par(args, message):
    ctx = multiprocessing.get_context()
    barrier = ctx.Barrier(args.procs)
    results = ctx.Queue()
    procs = [ctx.Process(target=worker, name="bench-%d" % i, daemon=True,
                         args=(i, args.uri, args.serializer, message, args.seconds, barrier, results))
             for i in range(args.procs)]
    for proc in procs:
        proc.start()
    outcomes = {}
    errors = []
    wait_until = time.monotonic() + BARRIER_TIMEOUT + args.seconds + 2 * CALL_TIMEOUT
    try:
        while len(outcomes) < args.procs:
            remaining = wait_until - time.monotonic()
            if remaining <= 0:
                errors.append("timed out waiting for %d of %d processes" % (args.procs - len(outcomes), args.procs))
                break
            try:
                index, status, value = results.get(timeout=min(remaining, 1.0))
            except queue.Empty:   # check for processes that died without reporting
                dead = [p for i, p in enumerate(procs) if i not in outcomes and not p.is_alive()]
                if dead and results.empty():
                    time.sleep(0.2)
                    if results.empty():
                        errors.append("%d process(es) exited without reporting (exit codes %s)"
                                      % (len(dead), [p.exitcode for p in dead]))
                        break
                continue
            outcomes[index] = (status, value)
            if status != "ok":
                errors.append(value)
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join()
    if errors:
        counted = {}
        for text in errors:
            counted[text] = counted.get(text, 0) + 1
        raise RuntimeError("; ".join("%s (%d of %d processes)" % (text, n, args.procs) if n > 1 else text
                                     for text, n in counted.items()))
    total = sum(value[0] for status, value in outcomes.values())
    seconds = max(value[1] for status, value in outcomes.values())
    return {"calls": total, "seconds": round(seconds, 6), "rate": round(total / seconds, 1), "procs": args.procs}


def main(argv=None):
    parser = argparse.ArgumentParser(description="echo() load generator for a Pyro5 echo server")
    parser.add_argument("uri", help="PYRO:test.echoserver@host:port")
    parser.add_argument("--mode", choices=("seq", "par"), default="seq")
    parser.add_argument("--seconds", type=float, default=3.0, help="run time (default: %(default)s)")
    parser.add_argument("--serializer", choices=SERIALIZERS, default="serpent")
    parser.add_argument("--procs", type=int, default=4, help="processes for --mode par (default: %(default)s)")
    parser.add_argument("--payload-bytes", type=int, default=None, metavar="N",
                        help="echo a str of N characters instead of 'hello'")
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    if args.procs < 1:
        parser.error("--procs must be at least 1")
    if args.payload_bytes is not None and args.payload_bytes < 0:
        parser.error("--payload-bytes must not be negative")

    message = make_message(args.payload_bytes)
    try:
        result = run_seq(args, message) if args.mode == "seq" else run_par(args, message)
    except Exception as exc:
        print("bench_client: %s: %s" % (type(exc).__name__, exc), file=sys.stderr)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
