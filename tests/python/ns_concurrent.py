"""32 Python clients at once, each with its own proxy, registering and looking up names in a
name server. Usage: ns_concurrent.py HOST PORT"""
import sys
import threading

import Pyro5.core

host, port = sys.argv[1], int(sys.argv[2])
CLIENTS, NAMES = 32, 40
errors = []


def client(n):
    try:
        ns = Pyro5.core.locate_ns(host, port)
        for i in range(NAMES):
            name = "conc.%d.%d" % (n, i)
            ns.register(name, "PYRO:o%d_%d@127.0.0.1:%d" % (n, i, 2000 + i), safe=True, metadata=["client%d" % n])
            assert str(ns.lookup(name)) == "PYRO:o%d_%d@127.0.0.1:%d" % (n, i, 2000 + i)
        assert len(ns.yplookup(meta_all=["client%d" % n])) == NAMES
        assert len(ns.list(prefix="conc.%d." % n)) == NAMES
    except Exception as x:
        errors.append(repr(x))


threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
ns = Pyro5.core.locate_ns(host, port)
assert not errors, errors
assert ns.count() == CLIENTS * NAMES + 1, ns.count()
assert ns.remove(prefix="conc.") == CLIENTS * NAMES
print("ok")
