"""A real HTTP server on 127.0.0.1 for the tests of outbound requests
(message providers, webhooks): HTTP/1.1 with keep-alive, every request
recorded, answers given by `answer()` (a subclass decides), optionally slowly."""
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.db import connection


def worker_database_url() -> str:
    """The test database's URL, for the worker processes a test starts."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class HttpReceiver:
    path = "/hooks"

    def __init__(self):
        self.requests: list[dict] = []
        self.responses: list = []  # answered in order, then the default
        self.delay = 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    # headers: the request's HTTPMessage, read ignoring case like HTTP
                    receiver.requests.append({"path": self.path, "headers": self.headers, "body": body,
                                              "at": time.time()})
                    status, headers, data = receiver.answer(receiver.responses.pop(0) if receiver.responses else None)
                if receiver.delay:
                    time.sleep(receiver.delay)
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
        self.url = f"http://127.0.0.1:{self.port}{self.path}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, response) -> tuple[int, dict, bytes]:
        """(status, headers, body) for the next queued `response` (None: none queued)."""
        return response if response is not None else (200, {}, b"ok")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
