"""The embedded AWS endpoint: moto server, with every request served under one lock.

moto's DynamoDB backend checks conditions and writes without locking, so two concurrent clients
can both "win" a conditional put. Real DynamoDB makes each request atomic; serialising requests
here restores that guarantee, which the concurrency tests and the local stack rely on. moto's
transactions are patched too (``local/aws/moto_patches.py``): a cancelled one leaves no stream record.

A fault switch (``FaultSwitch``, local only) makes a table fail, for outage tests: while a table is
faulted, every DynamoDB request naming it answers a DynamoDB error (500 ``InternalServerError`` by
default), which clients retry as they would in AWS; its stream still reads.

    POST   /_local/faults          {"table": "OrderEventStore", "error": "InternalServerError"}
    GET    /_local/faults          -> {"faults": {"OrderEventStore": "InternalServerError"}}
    DELETE /_local/faults/<table>  one table;  DELETE /_local/faults  every table

    python -m local.aws.endpoint --host 127.0.0.1 --port 0    # prints "ready <port>" once listening
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SerializedApp:
    """Runs one request at a time, including producing its whole response body."""

    def __init__(self, app: WSGIApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self._lock:
            result = self._app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()


#: The errors a faulted table can answer, as DynamoDB sends them: status and message.
FAULT_ERRORS = {
    "InternalServerError": (500, "Internal server error"),
    "ServiceUnavailable": (503, "Service unavailable"),
    "ThrottlingException": (400, "Rate of requests exceeds the allowed throughput."),
    "ProvisionedThroughputExceededException": (
        400,
        (
            "The level of configured provisioned throughput for the table was exceeded."
            " Consider increasing your provisioning level with the UpdateTable API."
        ),
    ),
}
_STATEMENT_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+\"?([\w.-]+)", re.IGNORECASE)


def _table(name: str) -> str:
    """A table's name from its name or ARN (``arn:aws:dynamodb:...:table/<name>[/...]``)."""
    return name.split(":table/", 1)[1].split("/", 1)[0] if ":table/" in name else name


def tables_named(document: Any) -> set[str]:
    """Every table a DynamoDB request names: ``TableName`` (also inside ``TransactItems``),
    ``RequestItems`` keys, ``ResourceArn``, and the table of each PartiQL ``Statement``."""
    found: set[str] = set()
    if isinstance(document, dict):
        for key, value in document.items():
            if key in ("TableName", "ResourceArn") and isinstance(value, str):
                found.add(_table(value))
            elif key == "RequestItems" and isinstance(value, dict):
                found.update(_table(str(name)) for name in value)
            elif key == "Statement" and isinstance(value, str):
                found.update(_STATEMENT_TABLE.findall(value))
            else:
                found |= tables_named(value)
    elif isinstance(document, list):
        for value in document:
            found |= tables_named(value)
    return found


class FaultSwitch:
    """WSGI middleware in front of moto: the ``/_local/faults`` control, and faulted tables' errors.

    Only DynamoDB requests (``X-Amz-Target: DynamoDB_20120810.*``) are failed; DynamoDB Streams
    requests are served, so the records a table wrote before (or during) its outage still reach
    their consumers. Faulted answers skip the serialising lock: they touch no state.
    """

    PATH = "/_local/faults"

    def __init__(self, app: WSGIApp) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._faults: dict[str, str] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == self.PATH or path.startswith(self.PATH + "/"):
            status, document = self._control(environ["REQUEST_METHOD"], path, _body(environ))
            return _respond(start_response, status, {"Content-Type": "application/json"}, document)
        if self._faults and environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_20120810."):
            raw = _body(environ)
            environ["wsgi.input"] = io.BytesIO(raw)  # moto reads it again
            environ["CONTENT_LENGTH"] = str(len(raw))
            try:
                named = tables_named(json.loads(raw or b"{}"))
            except ValueError:
                named = set()
            with self._lock:
                errors = [self._faults[table] for table in sorted(named) if table in self._faults]
            if errors:
                return _dynamodb_error(start_response, errors[0])
        return self._app(environ, start_response)

    def _control(self, method: str, path: str, raw: bytes) -> tuple[HTTPStatus, dict[str, Any]]:
        table = path.removeprefix(self.PATH).strip("/")
        if method == "GET" and not table:
            pass
        elif method == "DELETE":
            with self._lock:
                if table:
                    self._faults.pop(table, None)
                else:
                    self._faults.clear()
        elif method == "POST" and not table:
            try:
                request = json.loads(raw)
            except ValueError:
                request = None
            name = request.get("table") if isinstance(request, dict) else None
            error = request.get("error", "InternalServerError") if isinstance(request, dict) else None
            if not isinstance(name, str) or not name or error not in FAULT_ERRORS:
                detail = f'expected {{"table": "<name>", "error": one of {sorted(FAULT_ERRORS)}}}'
                return HTTPStatus.BAD_REQUEST, {"message": detail}
            with self._lock:
                self._faults[_table(name)] = str(error)
        else:
            allowed = "GET, POST, DELETE" if not table else "DELETE"
            return HTTPStatus.METHOD_NOT_ALLOWED, {"message": f"{method} {path}: use {allowed}"}
        with self._lock:
            return HTTPStatus.OK, {"faults": dict(sorted(self._faults.items()))}


def _body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else b""


def _respond(
    start_response: Callable[..., Any], status: HTTPStatus, headers: dict[str, str], document: Any
) -> list[bytes]:
    body = json.dumps(document).encode()
    start_response(f"{status.value} {status.phrase}", [*headers.items(), ("Content-Length", str(len(body)))])
    return [body]


def _dynamodb_error(start_response: Callable[..., Any], error: str) -> list[bytes]:
    """The error as DynamoDB answers it (JSON 1.0, ``__type`` with its namespace)."""
    status, message = FAULT_ERRORS[error]
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": str(uuid.uuid4())}
    document = {"__type": f"com.amazonaws.dynamodb.v20120810#{error}", "message": message}
    return _respond(start_response, HTTPStatus(status), headers, document)


def create_server(host: str = "127.0.0.1", port: int = 0) -> BaseWSGIServer:
    from moto.moto_server.werkzeug_app import (  # noqa: PLC0415 - heavy import, only when serving
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    from local.aws import moto_patches  # noqa: PLC0415 - imports moto

    moto_patches.apply()
    app = FaultSwitch(SerializedApp(DomainDispatcherApplication(create_backend_app)))
    return make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)


def _exit_with_parent(parent: int, server: BaseWSGIServer) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    server.shutdown()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--parent-pid", type=int, help="exit when this process is gone")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the parent stops us
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = create_server(args.host, args.port)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    if args.parent_pid:
        threading.Thread(target=_exit_with_parent, args=(args.parent_pid, server), daemon=True).start()
    print(f"ready {server.server_address[1]}", flush=True)
    server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
