"""The embedded AWS endpoint: moto server, with every request served under one lock.

moto's DynamoDB backend checks conditions and writes without locking, so two concurrent clients
can both "win" a conditional put. Real DynamoDB makes each request atomic; serialising requests
here restores that guarantee, which the concurrency tests and the local stack rely on. moto's
transactions are patched too (``local/aws/moto_patches.py``): a cancelled one leaves no stream record.

    python -m local.aws.endpoint --host 127.0.0.1 --port 0    # prints "ready <port>" once listening
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
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


def create_server(host: str = "127.0.0.1", port: int = 0) -> BaseWSGIServer:
    from moto.moto_server.werkzeug_app import (  # noqa: PLC0415 - heavy import, only when serving
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    from local.aws import moto_patches  # noqa: PLC0415 - imports moto

    moto_patches.apply()
    app = SerializedApp(DomainDispatcherApplication(create_backend_app))
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
