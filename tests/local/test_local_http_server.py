"""The local HTTP server (local/stack/server.py) over real sockets: a client that hangs up early costs one
log line, never a traceback, and no function sees a truncated request."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from local.aws.apigw import HttpRequest, HttpResponse
from local.stack.server import MAX_PAYLOAD, ApiServer

#: Larger than any socket send buffer here (tcp_wmem max is 4 MB), so writing it to a client that
#: has gone fails even if the client's reset arrived late.
LARGE_ANSWER = b"x" * (16 * 1024 * 1024)


@contextmanager
def serving(
    handle: Callable[[HttpRequest], tuple[HttpResponse, str]],
) -> Iterator[tuple[ApiServer, list[str]]]:
    lines: list[str] = []
    server = ApiServer("TestApi", ("127.0.0.1", 0), handle, lines.append)
    server.daemon_threads = False  # server_close() then waits until every request is handled
    thread = threading.Thread(target=server.serve_forever, args=(0.05,))
    thread.start()
    try:
        yield server, lines
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def head(method: str, length: int) -> bytes:
    return f"{method} /things HTTP/1.1\r\nHost: local\r\nContent-Length: {length}\r\n\r\n".encode()


def report(server: ApiServer, error: Exception, port: int) -> None:
    """Call ``handle_error`` as socketserver does: while the request's exception is being handled."""

    def fail() -> None:
        raise error

    try:
        fail()
    except (ConnectionError, ValueError):
        server.handle_error(None, ("127.0.0.1", port))


def reset(client: socket.socket) -> None:
    """Hang up the way a killed client does: close at once, with a reset."""
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()


def test_a_client_that_reads_the_413_and_hangs_up_costs_one_line(capfd: pytest.CaptureFixture[str]) -> None:
    def never(request: HttpRequest) -> tuple[HttpResponse, str]:
        raise AssertionError("a body over the limit reached a function")

    with serving(never) as (server, lines):
        client = socket.create_connection(("127.0.0.1", server.port))
        client.sendall(head("POST", 20 * 1024 * 1024) + b"x" * 1024)
        answer = client.recv(12)
        reset(client)  # stops sending the 20 MB it announced, with the rest of the answer unread

    assert answer == b"HTTP/1.1 413"
    assert len(lines) == 1
    assert lines[0].startswith(
        f"[TestApi] POST /things -> 413 (body of {20 * 1024 * 1024} bytes over {MAX_PAYLOAD})"
    )
    assert "Traceback" not in capfd.readouterr().err


def test_a_client_that_hangs_up_before_its_answer_is_written_costs_one_line(
    capfd: pytest.CaptureFixture[str],
) -> None:
    arrived, gone = threading.Event(), threading.Event()

    def slow(request: HttpRequest) -> tuple[HttpResponse, str]:
        arrived.set()
        gone.wait(10)  # answer only once the client has hung up
        return HttpResponse(200, {"Content-Type": "text/plain"}, LARGE_ANSWER), "Slow"

    with serving(slow) as (server, lines):
        client = socket.create_connection(("127.0.0.1", server.port))
        client.sendall(head("GET", 0))
        arrived.wait(10)
        reset(client)
        gone.set()

    err = capfd.readouterr().err
    assert "Traceback" not in err, err
    assert len(lines) == 1
    assert lines[0].startswith("[TestApi] GET /things -> 200 Slow, not delivered: client hung up (")


def test_a_body_cut_short_by_a_hang_up_reaches_no_function(capfd: pytest.CaptureFixture[str]) -> None:
    seen: list[HttpRequest] = []

    def record(request: HttpRequest) -> tuple[HttpResponse, str]:
        seen.append(request)
        return HttpResponse(200, {}, b"{}"), "Record"

    with serving(record) as (server, lines):
        client = socket.create_connection(("127.0.0.1", server.port))
        client.sendall(head("POST", 1000) + b'{"name": "cut')
        client.shutdown(socket.SHUT_WR)  # no more body: the server reads end-of-stream
        client.recv(1)
        client.close()

    assert seen == []
    assert len(lines) == 1
    assert lines[0].startswith("[TestApi] POST /things -> client hung up after 13 of 1000 bytes")
    assert "Traceback" not in capfd.readouterr().err


def test_a_client_gone_while_its_request_is_read_costs_one_line(capfd: pytest.CaptureFixture[str]) -> None:
    """What socketserver hands ``handle_error`` when the reset comes before the request is whole."""
    lines: list[str] = []
    server = ApiServer(
        "TestApi", ("127.0.0.1", 0), lambda request: (HttpResponse(200, {}, b"{}"), "Any"), lines.append
    )
    try:
        report(server, ConnectionResetError(104, "Connection reset by peer"), 50000)
        report(server, ValueError("a bug in the server"), 50001)
    finally:
        server.server_close()

    assert lines == ["[TestApi] 127.0.0.1:50000 client hung up (ConnectionResetError)"]
    err = capfd.readouterr().err
    assert err.count("Traceback") == 1, err  # a real error keeps its traceback
    assert "ValueError: a bug in the server" in err


def test_a_304_has_neither_content_nor_content_length() -> None:
    """RFC 9110 8.6: a 304 may carry Content-Length only as the 200's would be; it carries none."""
    answer = HttpResponse(304, {"ETag": '"3"', "Cache-Control": "no-cache"}, b"")
    with (
        serving(lambda request: (answer, "Fn")) as (server, _),
        socket.create_connection(server.server_address) as client,
    ):
        client.sendall(head("GET", 0) + head("GET", 0))  # two on one connection: the first has no body
        received = b""
        while received.count(b"\r\n\r\n") < 2:
            received += client.recv(4096)
    first, second = received.split(b"\r\n\r\n")[:2]
    for response in (first, second):
        assert response.startswith(b"HTTP/1.1 304 ")
        assert b'ETag: "3"' in response
        assert b"content-length" not in response.lower()
