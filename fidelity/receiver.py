"""A tiny notification receiver for the fidelity scripts: an HTTP server on 127.0.0.1 (a free
port the OS picks) in a background thread that records every POST and answers it with the reply
the script chose for that path, or with what the script's handler for that path decides (an
API v3 handler answers from its client's own signature check). It never calls the admin API
itself.
"""

import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WECHAT_SUCCESS = ("<xml><return_code><![CDATA[SUCCESS]]></return_code>"
                  "<return_msg><![CDATA[OK]]></return_msg></xml>")
WECHAT_FAIL = ("<xml><return_code><![CDATA[FAIL]]></return_code>"
               "<return_msg><![CDATA[not now]]></return_msg></xml>")
ALIPAY_SUCCESS = "success"


class Received:
    """One notification as it arrived."""

    def __init__(self, path, content_type, body, headers=None, status=200):
        self.path = path
        self.content_type = content_type
        self.body = body
        self.headers = headers or {}
        self.status = status  # what the receiver answered

    def __repr__(self):
        return f"Received({self.path!r}, {self.content_type!r}, {self.body[:80]!r}...)"


class Receiver:
    """`replies[path]` is a list of bodies answered in turn (the last one repeats);
    `handlers[path]`, when set, is a function (headers, body) -> (status, reply body) instead."""

    def __init__(self):
        self.replies = {}
        self.handlers = {}
        self.received = queue.Queue()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                headers = dict(self.headers.items())
                handler = owner.handlers.get(self.path)
                if handler is not None:
                    try:
                        status, reply = handler(headers, body)
                    except Exception as e:  # a handler that throws refuses, as a web framework would
                        status, reply = 500, f"handler raised {e!r}"
                else:
                    answers = owner.replies.get(self.path) or ["unexpected path"]
                    status, reply = 200, (answers.pop(0) if len(answers) > 1 else answers[0])
                owner.received.put(Received(self.path, self.headers.get("Content-Type", ""), body, headers, status))
                data = reply.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def expect(self, path, replies):
        self.replies[path] = list(replies)
        return self.url(path)

    def handle(self, path, handler):
        """Answers POSTs to `path` with `handler(headers, body)` -> (status, reply body)."""
        self.handlers[path] = handler
        return self.url(path)

    def next(self, timeout=10):
        """The next notification; the sandbox delivers before the admin call returns, so a short
        real-time wait is enough (and bounds CI)."""
        return self.received.get(timeout=timeout)

    def nothing_more(self, wait=0.3):
        try:
            extra = self.received.get(timeout=wait)
        except queue.Empty:
            return True
        print(f"     (unexpected: {extra})")
        return False

    def close(self):
        self.server.shutdown()
        self.server.server_close()
