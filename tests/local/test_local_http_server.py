"""The local HTTP server (local/stack/server.py) over real sockets: a client that hangs up early costs one
log line, never a traceback, and no function sees a truncated request."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from local.aws.apigw import HttpRequest, HttpResponse, RouteMatch, build_event
from local.aws.authorizers import JwtAuthorizer, Refused
from local.aws.endpoint import create_server
from local.aws.template import HttpRoute
from local.stack.server import MAX_PAYLOAD, ApiServer
from tests.support.tokens import generate

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


def exchange(server: ApiServer, raw: bytes) -> bytes:
    """Send one raw request and read the whole answer (the server closes after it)."""
    client = socket.create_connection(("127.0.0.1", server.port))
    client.sendall(raw)
    client.shutdown(socket.SHUT_WR)
    answer = b""
    while chunk := client.recv(65536):
        answer += chunk
    client.close()
    return answer


def recorded(seen: list[HttpRequest]) -> Callable[[HttpRequest], tuple[HttpResponse, str]]:
    def record(request: HttpRequest) -> tuple[HttpResponse, str]:
        seen.append(request)
        return HttpResponse(200, {}, b"{}"), "Record"

    return record


def test_repeated_headers_reach_the_event_combined_with_commas() -> None:
    """Payload format 2.0: "Duplicate headers are combined with commas and included in the headers
    field" (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html).
    The server kept only the last value of a repeated header (``dict(self.headers.items())``), so
    the event lost the first one, and the JWT authorizer judged only the last ``Authorization``:
    on ``make run`` "Bearer garbage" then "Bearer <alice's token>" was granted (201), where the
    identity source API Gateway reads is "Bearer garbage,Bearer <token>", no JWT."""
    issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Pool"
    key = generate("key-1")
    now = int(time.time())
    token = key.sign(
        {"iss": issuer, "sub": "s", "client_id": "c", "token_use": "access", "iat": now, "exp": now + 600}
    )
    seen: list[HttpRequest] = []
    with serving(recorded(seen)) as (server, _):
        raw = (
            "GET /things HTTP/1.1\r\nHost: local\r\nX-Dup: one\r\nX-Dup: two\r\n"
            f"Authorization: Bearer garbage\r\nAuthorization: Bearer {token}\r\n"
            "Connection: close\r\nContent-Length: 0\r\n\r\n"
        )
        exchange(server, raw.encode())

    [request] = seen
    route = RouteMatch(HttpRoute("TestApi", "GET", "/things", "Fn"), {})
    event = build_event(request, route, api_id="testapi")
    assert event["headers"]["x-dup"] == "one,two"
    assert event["headers"]["authorization"] == f"Bearer garbage,Bearer {token}"
    authorizer = JwtAuthorizer(issuer, ["c"], lambda _: key.jwks())
    assert isinstance(authorizer.authorize(request.headers), Refused)


def test_a_token_in_the_query_string_never_reaches_the_log() -> None:
    """The request line logged the raw path with its query string: on ``make run`` a client sending
    ``?access_token=<alice's token>`` (or ``?Authorization=Bearer%20<token>``) got its 401 and
    left the whole token in the output. The template's access log leaves the query string out for
    this reason ("no header (so no Authorization), no body, no query string"); docs/local-stack.md:
    the log line never names the token."""
    token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
    with serving(recorded([])) as (server, lines):
        for query in (f"access_token={token}", f"Authorization=Bearer%20{token}"):
            exchange(
                server, f"GET /things?{query} HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n".encode()
            )

    assert len(lines) == 2
    assert all(line.startswith("[TestApi] GET /things") for line in lines), lines
    assert not [line for line in lines if "eyJ" in line], lines


def test_the_log_line_shows_query_parameter_names_but_no_values_and_no_token_as_a_name() -> None:
    token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
    with serving(recorded([])) as (server, lines):
        for query in ("limit=5&cursor=abc", token):
            exchange(
                server, f"GET /things?{query} HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n".encode()
            )

    assert [line.split(" -> ")[0] for line in lines] == [
        "[TestApi] GET /things?limit=...&cursor=...",
        "[TestApi] GET /things?...=...",
    ]


def listen_backlog(listener: socket.socket) -> int:
    """The backlog a listening socket was given (Linux: ``tcpi_sacked`` of a listener's TCP_INFO)."""
    info = listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return int(struct.unpack_from("8B6I", info)[13])


LINUX_ONLY = pytest.mark.skipif(
    not hasattr(socket, "TCP_INFO"), reason="reads the backlog with Linux's TCP_INFO"
)


@LINUX_ONLY
def test_the_listen_backlog_takes_a_burst_of_clients_without_resets() -> None:
    """socketserver listens with a backlog of 5: on `make run`, 16 clients sending a command at once
    got `ConnectionResetError` (ListenOverflows, then failed SYN cookies), and 24 got 5-9 resets;
    API Gateway does not reset a burst of 24 connections."""
    with serving(lambda request: (HttpResponse(200, {}, b"{}"), "Fn")) as (server, _):
        backlog = listen_backlog(server.socket)
    assert backlog >= 128


@LINUX_ONLY
def test_the_aws_endpoint_takes_the_same_burst() -> None:
    """Every function's SDK calls go to the embedded endpoint: a burst of requests is a burst there."""
    server = create_server()
    try:
        assert listen_backlog(server.socket) >= 128
    finally:
        server.server_close()


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND"])
def test_every_method_reaches_the_routing(method: str) -> None:
    """API Gateway routes what no route names to ``$default`` (a 405 or 404 problem here); the
    server once answered methods it had no ``do_<METHOD>`` for with its own 501 HTML page (found by
    the fuzzer: a 5xx the APIs never answer)."""
    seen: list[str] = []

    def handle(request: HttpRequest) -> tuple[HttpResponse, str]:
        seen.append(request.method)
        return HttpResponse(405, {"Content-Type": "application/problem+json", "Allow": "GET"}, b"{}"), "F"

    with serving(handle) as (server, lines):
        client = socket.create_connection(("127.0.0.1", server.port))
        client.sendall(f"{method} /things HTTP/1.1\r\nHost: local\r\nContent-Length: 0\r\n\r\n".encode())
        answer = client.recv(4096)
        client.close()

    assert answer.startswith(b"HTTP/1.1 405"), answer
    assert seen == [method]
    assert lines[0].startswith(f"[TestApi] {method} /things -> 405 F")


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


@pytest.mark.parametrize("length", ["-1", "abc", "1e3", "+2"])
def test_a_content_length_that_is_no_length_is_a_400_at_once_and_reaches_no_function(
    length: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """Found by break-it (issue 12): ``-1`` made the server read until the client hung up (and then run
    the function with what it had read), ``abc`` closed the connection with a traceback."""
    seen: list[HttpRequest] = []
    with serving(recorded(seen)) as (server, lines):
        client = socket.create_connection(("127.0.0.1", server.port))
        client.settimeout(5)
        client.sendall(
            f"POST /things HTTP/1.1\r\nHost: local\r\nContent-Length: {length}\r\n\r\n{{}}".encode()
        )
        answer = b""
        try:  # the client keeps its side open: the answer (and the close) must not wait for it
            while chunk := client.recv(65536):
                answer += chunk
        except TimeoutError:
            answer += b"(no close within 5 s)"
        finally:
            client.close()
    assert answer.startswith(b"HTTP/1.1 400 "), answer
    assert b'{"message":"Bad Request"}' in answer
    assert seen == []
    assert "Traceback" not in capfd.readouterr().err
    assert any("-> 400" in line for line in lines), lines
