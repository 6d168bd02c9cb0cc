"""One function's execution environment: a process that loads the handler once and serves invokes.

Started by ``local.stack.pool`` with the function's environment. Frames on the two pipe descriptors are
a 4-byte big-endian length and a JSON document: ``{"event": ...}`` in, and
``{"ok": result}`` or ``{"error": "Type: message", "trace": "..."}`` out. The worker exits when
its request pipe closes (the local stack stopped or died).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import struct
import sys
import traceback
from pathlib import Path
from typing import Any, BinaryIO

_HEADER = struct.Struct(">I")


def write_frame(stream: BinaryIO, document: Any) -> None:
    payload = json.dumps(document, default=str).encode()
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def read_frame(stream: BinaryIO) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    (length,) = _HEADER.unpack(header)
    return json.loads(stream.read(length))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--function", required=True)
    parser.add_argument("--module", required=True)
    parser.add_argument("--attribute", required=True)
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--responses", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=3.0)
    args = parser.parse_args()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the stack stops us

    from local.aws import calls  # noqa: PLC0415 - after the environment is final
    from local.aws.functions import LambdaContext, load_module  # noqa: PLC0415

    calls.record_from_environment(args.function)  # LOCAL_CALL_LOG: the IAM coverage check
    handler = getattr(load_module(args.function, Path(args.module)), args.attribute)
    requests = os.fdopen(args.requests, "rb")
    responses = os.fdopen(args.responses, "wb")
    write_frame(responses, {"ready": os.getpid()})
    while True:
        try:
            message = read_frame(requests)
        except EOFError:
            return
        try:
            result = handler(
                message["event"],
                LambdaContext(
                    args.function, timeout_seconds=args.timeout, aws_request_id=message["requestId"]
                ),
            )
            write_frame(responses, {"ok": result})
        except Exception as error:
            trace = traceback.format_exc()
            print(trace, file=sys.stderr, flush=True)
            write_frame(responses, {"error": f"{type(error).__name__}: {error}", "trace": trace})


if __name__ == "__main__":
    main()
