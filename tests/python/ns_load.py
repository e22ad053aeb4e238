"""Register names in a name server as fast as possible, printing each one once the name
server acknowledged it, until the name server goes away. Usage: ns_load.py HOST PORT"""
import sys

import Pyro5.core

host, port = sys.argv[1], int(sys.argv[2])
ns = Pyro5.core.locate_ns(host, port)
i = 0
try:
    while True:
        name = "load.%d" % i
        ns.register(name, "PYRO:obj%d@127.0.0.1:%d" % (i, 1000 + i), metadata=["tag%d" % (i % 3)])
        print(name, flush=True)
        i += 1
except Exception as x:
    print("stopped: %s" % type(x).__name__, flush=True)
