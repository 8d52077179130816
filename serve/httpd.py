"""The HTTP side: a stdlib ThreadingHTTPServer on 127.0.0.1 in front of api.Api.

Plain HTTP without authentication: the server listens on the loopback interface only and
serves nothing a user of the machine could not read from the bundle file itself.
"""
from __future__ import annotations

import errno
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

from k8s_bundle.errors import EXIT_BAD_INPUT, UserError, shown
from k8s_bundle.serve.api import Api, Response, status

HOST = "127.0.0.1"
_MAX_BODY = 16 * 1024 * 1024   # a write request's body is read and dropped up to this size


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"      # keep-alive: kubectl makes a dozen discovery requests
    server_version = "k8s-bundle-serve"
    api: Api                           # set on the subclass made for each server

    def _serve(self) -> None:
        length = self.headers.get("Content-Length")
        if length:
            try:
                n = int(length)
            except ValueError:
                n = _MAX_BODY + 1
            if n > _MAX_BODY:
                self.close_connection = True
            else:
                self.rfile.read(n)
        elif self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True     # we never read request bodies; do not reuse the stream
        try:
            resp = self.api.handle(self.command, self.path, self.headers.get("Accept", ""))
        except Exception as exc:   # noqa: BLE001 - one request's bug must not stop the server
            print(f"k8s-bundle: serve: internal error on {shown(self.command)} {shown(self.path)}: "
                  f"{type(exc).__name__}: {shown(str(exc))}", file=sys.stderr)
            resp = status(500, "InternalError", f"internal error: {type(exc).__name__}")
        self._send(resp)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve

    def _send(self, resp: Response) -> None:
        self.send_response(resp.code)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Cache-Control", "no-store")
        for k, v in resp.headers.items():
            self.send_header(k, v)
        if isinstance(resp.body, bytes):
            self.send_header("Content-Length", str(len(resp.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(resp.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self.command == "HEAD":
            self.wfile.write(b"0\r\n\r\n")
            return
        self._chunked(resp.body)

    def _chunked(self, body: Iterator[bytes]) -> None:
        try:
            for piece in body:
                if piece:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return
        except Exception as exc:   # noqa: BLE001 - the bundle went away or broke mid-stream
            print(f"k8s-bundle: serve: log stream ended early: {type(exc).__name__}: {shown(str(exc))}",
                  file=sys.stderr)
            self.close_connection = True   # no end marker: the client sees the stream cut
            return
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass        # quiet: kubectl makes many requests; errors are printed where they happen


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


def bind(port: int) -> Server:
    """Listen on 127.0.0.1:port (0: a free port); a busy port is a one-line error, exit 4."""
    handler = type("Handler", (_Handler,), {})
    try:
        return Server((HOST, port), handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UserError(f"port {port} on {HOST} is already in use; choose another with --port "
                            "(or leave --port out for a free one)", EXIT_BAD_INPUT) from None
        raise UserError(f"cannot listen on {HOST}:{port} ({exc.strerror or exc})", EXIT_BAD_INPUT) from None


def attach(server: Server, api: Api) -> None:
    server.RequestHandlerClass.api = api     # type: ignore[attr-defined]
