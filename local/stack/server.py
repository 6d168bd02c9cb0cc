"""An HTTP server per HTTP API, handing every request to the stack's API Gateway emulation."""

from __future__ import annotations

import re
import socket
import sys
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local.aws.apigw import HttpRequest, HttpResponse

#: API Gateway refuses payloads above 10 MB before any function runs.
MAX_PAYLOAD = 10 * 1024 * 1024

#: A query parameter name the log line shows (its value never).
_PLAIN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")

Handle = Callable[[HttpRequest], tuple[HttpResponse, str]]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ApiServer

    def _serve(self) -> None:
        started = time.perf_counter()
        declared = (self.headers.get("Content-Length") or "0").strip()
        if not declared.isdigit() or not declared.isascii():  # RFC 9110 8.6: 1*DIGIT
            self.close_connection = True  # where the body ends is unknown: nothing more is read
            bad = b'{"message":"Bad Request"}'
            outcome = f"-> 400 (Content-Length {declared[:20]!r} is no length)"
            self._answer(HttpResponse(400, {"Content-Type": "application/json"}, bad), outcome, started)
            return
        length = int(declared)
        if length > MAX_PAYLOAD:
            self.close_connection = True  # the body stays unread
            too_large = b'{"message":"Request Entity Too Large"}'
            outcome = f"-> 413 (body of {length} bytes over {MAX_PAYLOAD})"
            self._answer(HttpResponse(413, {"Content-Type": "application/json"}, too_large), outcome, started)
            return
        body = self.rfile.read(length) if length else b""
        if len(body) < length:  # the client hung up mid-body: no function sees a truncated request
            self.close_connection = True
            self._log(f"-> client hung up after {len(body)} of {length} bytes", started)
            return
        url = urlsplit(self.path)
        request = HttpRequest(
            method=self.command,
            path=url.path or "/",
            query=url.query,
            headers=_combined(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
        )
        response, function = self.server.handle(request)
        self._answer(response, f"-> {response.status} {function}", started)

    def _answer(self, response: HttpResponse, outcome: str, started: float) -> None:
        try:
            self._send(response)
        except ConnectionError as error:  # the client hung up before its answer was written
            self.close_connection = True
            outcome += f", not delivered: {_hung_up(error)}"
        self._log(outcome, started)

    def _log(self, outcome: str, started: float) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        target = _logged_target(self.path)
        self.server.log_line(f"[{self.server.api}] {self.command} {target} {outcome} {elapsed:.0f} ms")

    def _send(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        # 204 and 304 have no content and no Content-Length (RFC 9110 sections 8.6, 15.3.5, 15.4.5).
        bodiless = response.status in (204, 304)
        if not bodiless:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and not bodiless:
            self.wfile.write(response.body)

    def __getattr__(self, name: str) -> Any:
        """``do_<METHOD>`` for every method: API Gateway routes any method (what no route names goes
        to ``$default``), where ``BaseHTTPRequestHandler`` would answer its own 501 page."""
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass  # one line per request comes from _serve


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    #: The listen backlog. socketserver's default of 5 reset a burst of 16+ clients (API Gateway
    #: does not); 128 is what the embedded AWS endpoint (werkzeug) listens with.
    request_queue_size = 128

    def __init__(
        self, api: str, address: tuple[str, int], handle: Handle, log_line: Callable[[str], None]
    ) -> None:
        super().__init__(address, _Handler)
        self.api = api
        self.handle = handle
        self.log_line = log_line

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:
        """A client that hangs up (before its request was read, or while the answer is written) is one
        line, not a traceback; anything else keeps the traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            self.log_line(f"[{self.api}] {client_address[0]}:{client_address[1]} {_hung_up(error)}")
        else:
            super().handle_error(request, client_address)


def _logged_target(target: str) -> str:
    """The request target as the log line shows it: the path, and of the query string only the
    parameter names (``?limit=...&cursor=...``). A client may put a token there (``?access_token=...``), and
    tokens never reach the log; the template's access log leaves the query string out for that reason.
    A name that is not a plain word (a token sent as the name) is hidden too."""
    url = urlsplit(target)
    if not url.query:
        return url.path
    names = [
        name if _PLAIN_NAME.fullmatch(name) else "..."
        for name, _ in parse_qsl(url.query, keep_blank_values=True)
    ]
    return f"{url.path}?" + "&".join(f"{name}=..." for name in names) if names else f"{url.path}?..."


def _combined(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Every header once, a repeated one's values joined with commas in the order sent, as API Gateway
    puts them in a payload 2.0 event ("Duplicate headers are combined with commas"). Names compare
    case-insensitively; the first spelling is kept."""
    combined: dict[str, str] = {}
    spelled: dict[str, str] = {}
    for name, value in headers:
        key = spelled.setdefault(name.lower(), name)
        combined[key] = f"{combined[key]},{value}" if key in combined else value
    return combined


def _hung_up(error: ConnectionError) -> str:
    return f"client hung up ({type(error).__name__})"
