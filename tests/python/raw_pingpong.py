"""Raw TCP ping-pong from Python: the floor under any Python Pyro client's call rate.

Usage: raw_pingpong.py HOST PORT --size N --seconds S
Sends N bytes, reads N bytes back, repeatedly; prints {"calls": n, "seconds": s, "rate": r}.
"""
import argparse
import json
import socket
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--size", type=int, default=150)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    sock = socket.create_connection((args.host, args.port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    message = b"x" * args.size
    calls = 0
    start = time.perf_counter()
    deadline = start + args.seconds
    now = start
    while now < deadline:
        sock.sendall(message)
        got = 0
        while got < args.size:
            chunk = sock.recv(args.size - got)
            if not chunk:
                raise SystemExit("server closed")
            got += len(chunk)
        calls += 1
        now = time.perf_counter()
    print(json.dumps({"calls": calls, "seconds": now - start, "rate": calls / (now - start)}))


if __name__ == "__main__":
    main()
