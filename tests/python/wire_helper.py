"""Frames from and for the real Pyro5 wire layer, driven by the Rust interop tests.

stdin: {"make": [spec, ...], "parse": [{"hex": ..., "max_size": n}, ...]}
  spec = {"kind", "serializer", "flags", "seq", "corr": hex or null,
          "annotations": [[id, hex], ...], "payload": hex, "compress": bool, "max_size": n}
stdout: {"made": [{"hex"} or {"error"}], "parsed": [{fields...} or {"error"}]}
"""
import json
import sys
import uuid

from Pyro5 import config, errors, protocol
from Pyro5.callcontext import current_context

DEFAULT_MAX = config.MAX_MESSAGE_SIZE


def error_text(e):
    return "%s: %s" % (type(e).__name__, e)


def make(spec):
    config.COMPRESSION = spec["compress"]
    config.MAX_MESSAGE_SIZE = spec.get("max_size") or DEFAULT_MAX
    corr = spec["corr"]
    current_context.correlation_id = uuid.UUID(bytes=bytes.fromhex(corr)) if corr else None
    annotations = {k: bytes.fromhex(v) for k, v in spec["annotations"]}
    try:
        msg = protocol.SendingMessage(spec["kind"], spec["flags"], spec["seq"], spec["serializer"],
                                      bytes.fromhex(spec["payload"]), annotations)
        return {"hex": msg.data.hex()}
    except Exception as e:  # noqa: BLE001 - the error text is the result
        return {"error": error_text(e)}
    finally:
        current_context.correlation_id = None


class Connection:
    """Just enough of Pyro5's socket connection for protocol.recv_stub."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def recv(self, size):
        chunk = self.data[self.pos:self.pos + size]
        if len(chunk) < size:
            raise errors.ConnectionClosedError("receiving: not enough data")
        self.pos += size
        return chunk


def parse(case):
    config.MAX_MESSAGE_SIZE = case.get("max_size") or DEFAULT_MAX
    conn = Connection(bytes.fromhex(case["hex"]))
    try:
        msg = protocol.recv_stub(conn)
    except Exception as e:  # noqa: BLE001
        return {"error": error_text(e)}
    return {
        "kind": msg.type,
        "serializer": msg.serializer_id,
        "flags": msg.flags,
        "seq": msg.seq,
        "data_size": msg.data_size,
        "annotations_size": msg.annotations_size,
        "corr": bytes(msg.corr_id).hex(),
        "annotations": [[k, bytes(v).hex()] for k, v in msg.annotations.items()],
        "payload": bytes(msg.data).hex(),
        "consumed": conn.pos,
    }


def main():
    request = json.load(sys.stdin)
    result = {
        "made": [make(s) for s in request.get("make", [])],
        "parsed": [parse(c) for c in request.get("parse", [])],
    }
    config.MAX_MESSAGE_SIZE = DEFAULT_MAX
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
