"""The Python side of tests/tests/blob_interop.rs: serialized blobs (Pyro's SerializedBlob)
passed through a dispatcher without being decoded there, as in Pyro5's blob-dispatch example.

  serve <serializer>         a Python daemon with a Dispatcher and a Listener; prints their
                             URIs, serves until stdin closes
  client <dispatcher> <serializer> <listener-uri>...
                             registers the listeners (topic "py", "rs", "both" as the test
                             says: "topic=uri" pairs), sends blobs on each topic and prints
                             what came back as JSON
"""
import json
import sys
import threading

import Pyro5.api
import Pyro5.errors


class Data:
    """A user class the dispatcher knows nothing about (only the listeners' serializers)."""

    def __init__(self, a, b):
        self.a = a
        self.b = b

    @staticmethod
    def to_dict(obj):
        return {"__class__": "blobtest.Data", "a": obj.a, "b": obj.b}

    @staticmethod
    def from_dict(classname, d):
        return Data(d["a"], d["b"])


Pyro5.api.register_class_to_dict(Data, Data.to_dict)
Pyro5.api.register_dict_to_class("blobtest.Data", Data.from_dict)


@Pyro5.api.behavior(instance_mode="single")
class Dispatcher:
    def __init__(self):
        self.listeners = {}

    @Pyro5.api.expose
    def register(self, topic, listener):
        self.listeners.setdefault(topic, []).append(listener)

    @Pyro5.api.expose
    def process_blob(self, blob):
        answers = []
        for listener in self.listeners.get(blob.info, []):
            listener._pyroClaimOwnership()
            answers.append(listener.process_blob(blob))
        return answers


class Listener:
    @Pyro5.api.expose
    def process_blob(self, blob):
        data = blob.deserialized()
        if isinstance(data, Data):
            data = {"Data": [data.a, data.b]}
        return ["python", blob.info, data]


def serve(serializer):
    # The dispatcher's proxies pass blobs on in this serializer (Python labels a blob's
    # payload with the proxy's serializer, whatever the blob came in).
    Pyro5.config.SERIALIZER = serializer
    daemon = Pyro5.api.Daemon(host="127.0.0.1")
    print(daemon.register(Dispatcher, "blob.dispatcher"), flush=True)
    print(daemon.register(Listener(), "blob.listener"), flush=True)
    threading.Thread(target=daemon.requestLoop, daemon=True).start()
    sys.stdin.read()
    daemon.shutdown()


def plain(value):
    """JSON-able: tuples as lists, bytes as text."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, Data):
        return {"Data": [value.a, value.b]}
    if isinstance(value, (bytes, bytearray)):
        return value.decode("latin-1")
    return value


def client(dispatcher_uri, serializer, pairs):
    Pyro5.config.SERIALIZER = serializer
    out = {}
    with Pyro5.api.Proxy(dispatcher_uri) as dispatcher:
        for pair in pairs:
            topic, uri = pair.split("=", 1)
            dispatcher.register(topic, Pyro5.api.Proxy(uri))
        sent = {
            "py": {"numbers": [1, 2, 3], "text": "h\u00e9llo", "nested": {"f": [1.5, None, True]}},
            "rs": [10, "twenty", {"thirty": 30}],
            "both": Data(42, "hello world"),
            "nobody": "lost",
        }
        for topic, data in sent.items():
            try:
                out[topic] = plain(dispatcher.process_blob(Pyro5.api.SerializedBlob(topic, data)))
            except Exception as e:
                out[topic] = "error: %s: %s" % (type(e).__name__, e)
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2])
    else:
        client(sys.argv[2], sys.argv[3], sys.argv[4:])
