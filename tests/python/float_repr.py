"""repr() of doubles given as 16-hex-digit bit patterns (stdin JSON list) -> JSON list."""
import json
import struct
import sys

bits = json.load(sys.stdin)
json.dump([repr(struct.unpack(">d", bytes.fromhex(b))[0]) for b in bits], sys.stdout)
