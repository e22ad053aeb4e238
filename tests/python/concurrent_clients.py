"""Many Python clients at once against one echo server.

Usage: concurrent_clients.py URI --clients 32 --calls 200
Each client is a thread with its own proxy (Pyro's rule: one proxy per thread) that calls
echo() with a value unique to the client and the call, in a serializer picked by the client
number, and checks every answer. Prints one JSON line: {"clients":..,"calls":..,"errors":[..]};
exits 1 when any answer was wrong or any call failed.
"""
import argparse
import json
import sys
import threading

import Pyro5.api

SERIALIZERS = ["serpent", "json", "marshal", "msgpack"]


def client(uri, number, calls, errors, barrier):
    try:
        with Pyro5.api.Proxy(uri) as proxy:
            proxy._pyroSerializer = SERIALIZERS[number % len(SERIALIZERS)]
            proxy._pyroTimeout = 30
            proxy._pyroBind()
            barrier.wait(timeout=30)
            for i in range(calls):
                value = [number, i, "client %d call %d" % (number, i), {"n": i}]
                got = proxy.echo(value)
                if got != value:
                    errors.append("client %d call %d: sent %r, got %r" % (number, i, value, got))
                    return
    except Exception as e:  # any failure is a test failure
        errors.append("client %d: %s: %s" % (number, type(e).__name__, e))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("uri")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    errors = []
    barrier = threading.Barrier(args.clients)
    threads = [threading.Thread(target=client, args=(args.uri, n, args.calls, errors, barrier))
               for n in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    print(json.dumps({"clients": args.clients, "calls": args.calls, "errors": errors[:10]}))
    sys.exit(1 if errors or any(t.is_alive() for t in threads) else 0)


if __name__ == "__main__":
    main()
