"""Python Pyro5's own serializers on the data of core/benches/ser.rs, for comparison.

Prints one line per case: format, case, direction, ns/op, MB/s (of the payload).
"""
import sys
import time

from Pyro5 import serializers

CALL = ("test.echoserver", "echo", ("hello", 42, 2.5, [1, 2, 3], {"k": "v"}), {"flag": True})
BLOB = bytes(range(256)) * 4096  # 1 MiB


def bench(fn, min_time=0.3):
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return elapsed / n
        n *= 2


def main():
    print("%-8s %-18s %-6s %12s %10s" % ("format", "case", "dir", "ns/op", "MB/s"))
    for name in ("serpent", "json", "marshal", "msgpack"):
        ser = serializers.serializers[name]
        data = ser.dumpsCall(*CALL)
        t = bench(lambda: ser.dumpsCall(*CALL))
        print("%-8s %-18s %-6s %12.0f %10.1f" % (name, "call envelope", "encode", t * 1e9, len(data) / t / 1e6))
        t = bench(lambda: ser.loadsCall(data))
        print("%-8s %-18s %-6s %12.0f %10.1f" % (name, "call envelope", "decode", t * 1e9, len(data) / t / 1e6))
        if name == "json":
            print("%-8s %-18s %-6s %12s %10s" % (name, "1 MiB bytes", "-", "unsupported", "-"))
            continue
        blob = ser.dumps(BLOB)
        t = bench(lambda: ser.dumps(BLOB), 0.5)
        print("%-8s %-18s %-6s %12.0f %10.1f" % (name, "1 MiB bytes", "encode", t * 1e9, len(BLOB) / t / 1e6))
        t = bench(lambda: ser.loads(blob), 0.5)
        print("%-8s %-18s %-6s %12.0f %10.1f" % (name, "1 MiB bytes", "decode", t * 1e9, len(BLOB) / t / 1e6))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
