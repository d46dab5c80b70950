"""Events fixtures: a Standard Webhooks receiver on 127.0.0.1, helpers to read events."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from events.models import Event


def events_of(workspace, **filters):
    return list(Event.objects.filter(workspace=workspace, **filters).order_by("id"))


def types_of(workspace, **filters):
    return [e.type for e in events_of(workspace, **filters)]


class HookReceiver:
    """A real HTTP/1.1 server on 127.0.0.1 (keep-alive). `responses`: a list
    of (status, headers, body) answered in order, then 200."""

    def __init__(self):
        self.requests: list[dict] = []
        self.responses: list[tuple[int, dict, bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()},
                                              "body": body, "at": time.time(), "path": self.path})
                    status, headers, data = receiver.responses.pop(0) if receiver.responses else (200, {}, b"ok")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def bodies(self):
        return [json.loads(r["body"]) for r in self.requests]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook_receiver():
    with HookReceiver() as receiver:
        yield receiver
