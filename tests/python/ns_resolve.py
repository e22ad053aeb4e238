"""Register an echo server in a name server, then reach it through PYRONAME: and PYROMETA:
proxies and Pyro5.core.resolve. Usage: ns_resolve.py NSHOST NSPORT ECHO_URI SERIALIZER"""
import sys

import Pyro5.api
import Pyro5.core

host, port, echo_uri, serializer = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
Pyro5.config.SERIALIZER = serializer

ns = Pyro5.core.locate_ns(host, port)
ns.register("test.echo." + serializer, echo_uri, metadata={"echo.tag", serializer})
with Pyro5.api.Proxy("PYRONAME:test.echo.%s@%s:%d" % (serializer, host, port)) as p:
    assert p.echo("via name") == "via name"
with Pyro5.api.Proxy("PYROMETA:echo.tag,%s@%s:%d" % (serializer, host, port)) as p:
    assert p.echo([1, 2]) == [1, 2]
resolved = Pyro5.core.resolve("PYRONAME:test.echo.%s@%s:%d" % (serializer, host, port))
assert str(resolved) == echo_uri, resolved
try:
    Pyro5.core.resolve("PYROMETA:no.such.tag@%s:%d" % (host, port))
    raise SystemExit("PYROMETA without a match resolved")
except Pyro5.errors.NamingError as x:
    assert str(x) == "no registrations available with desired metadata properties {'no.such.tag'}", str(x)
ns.remove("test.echo." + serializer)
print("resolved through the name server with", serializer)
