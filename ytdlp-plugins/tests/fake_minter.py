"""A stand-in for the bgutil PO-token server (bgutil-ytdlp-pot-provider 2.0.2's HTTP API).

It answers `GET /ping` and `POST /get_pot` like bgutil does, with tokens that
name what they were minted for (`content_binding`) and which mint made them,
so that a test can tell a cached token from a new one.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def decode_token(token: str) -> tuple[str, int]:
    """The content binding and the mint number a token of this minter encodes."""
    _, binding, number = base64.urlsafe_b64decode(token).decode().rsplit(':', 2)
    return binding, int(number)


class FakeMinter:
    def __init__(self):
        self._lock = threading.Lock()
        self._server = None
        self._connections = set()
        self.port = None
        self.reset()

    def reset(self):
        """Forgets the mints and requests; lifetime 6 hours, no delay."""
        with self._lock:
            self.mints = 0
            self.requests = []
            self.lifetime = 6 * 3600
            self.delay = 0.0

    @property
    def url(self):
        return f'http://127.0.0.1:{self.port}'

    def start(self):
        """Listens (again on the same port after a stop)."""
        self._server = ThreadingHTTPServer(('127.0.0.1', self.port or 0), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self):
        """Down: the port refuses connections until start(), and open ones are cut."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        # A client's kept-alive connection would otherwise still be served.
        with self._lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    @property
    def running(self):
        return self._server is not None

    def _mint(self, body):
        with self._lock:
            self.requests.append(body)
            self.mints += 1
            number, lifetime, delay = self.mints, self.lifetime, self.delay
        time.sleep(delay)
        binding = body.get('content_binding') or ''
        token = base64.urlsafe_b64encode(f'kachay-fake-minter:{binding}:{number}'.encode()).decode()
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=lifetime)
        return {
            'poToken': token,
            'contentBinding': binding,
            'expiresAt': expires.isoformat(timespec='milliseconds').replace('+00:00', 'Z'),
        }

    def _handler(self):
        minter = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def setup(self):
                super().setup()
                with minter._lock:
                    minter._connections.add(self.connection)

            def finish(self):
                super().finish()
                with minter._lock:
                    minter._connections.discard(self.connection)

            def log_message(self, *args):
                pass

            def _answer(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == '/ping':
                    self._answer(200, {'server_uptime': 1.0, 'version': '2.0.2'})
                else:
                    self._answer(404, {'error': 'not found'})

            def do_POST(self):
                length = int(self.headers.get('Content-Length') or 0)
                try:
                    body = json.loads(self.rfile.read(length))
                except ValueError:
                    self._answer(400, {'error': 'body is not JSON'})
                    return
                if self.path != '/get_pot' or not isinstance(body, dict):
                    self._answer(404, {'error': 'not found'})
                    return
                self._answer(200, minter._mint(body))

        return Handler
