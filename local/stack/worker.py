"""One function's execution environment: a process that loads the handler once and serves invokes.

Started by ``local.stack.pool`` with the function's environment. Frames on the two pipe descriptors are
a 4-byte big-endian length and a JSON document: ``{"event": ...}`` in, and
``{"ok": result}`` or ``{"error": "Type: message", "trace": "..."}`` out. The worker exits, quietly,
when its request pipe closes or its response pipe is gone (the local stack stopped or died).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import struct
import sys
import traceback
from pathlib import Path
from typing import Any, BinaryIO

_HEADER = struct.Struct(">I")


def encode_frame(document: Any) -> bytes:
    payload = json.dumps(document, default=str).encode()
    return _HEADER.pack(len(payload)) + payload


def write_frame(stream: BinaryIO, document: Any) -> None:
    send_frame(stream, encode_frame(document))


def send_frame(stream: BinaryIO, frame: bytes) -> None:
    stream.write(frame)
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
    # The pool starts workers in their own process group, out of a terminal's Ctrl-C; should a
    # SIGINT reach one anyway, the stack is what stops it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    from local.aws import calls  # noqa: PLC0415 - after the environment is final
    from local.aws.functions import LambdaContext, load_module  # noqa: PLC0415

    calls.record_from_environment(args.function)  # LOCAL_CALL_LOG: the IAM coverage check
    handler = getattr(load_module(args.function, Path(args.module)), args.attribute)
    requests = os.fdopen(args.requests, "rb")
    responses = os.fdopen(args.responses, "wb")
    serve(handler, args.function, args.timeout, requests, responses, LambdaContext)


def serve(
    handler: Any, function: str, timeout: float, requests: BinaryIO, responses: BinaryIO, context: Any
) -> None:
    """Answer invocations until the request pipe closes or nobody reads the answers any more."""
    if not answer(responses, encode_frame({"ready": os.getpid()})):
        return
    while True:
        try:
            message = read_frame(requests)
        except EOFError:
            return
        try:
            result = handler(
                message["event"],
                context(function, timeout_seconds=timeout, aws_request_id=message["requestId"]),
            )
            frame = encode_frame({"ok": result})
        except Exception as error:
            trace = traceback.format_exc()
            print(trace, file=sys.stderr, flush=True)
            frame = encode_frame({"error": f"{type(error).__name__}: {error}", "trace": trace})
        if not answer(responses, frame):
            return


def answer(responses: BinaryIO, frame: bytes) -> bool:
    """Send one frame; False when the stack is gone (stopped while this worker was starting or busy):
    then the pipe is closed here, so that nothing tries to flush it again at exit."""
    try:
        send_frame(responses, frame)
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            responses.close()
        return False
    return True


if __name__ == "__main__":
    main()
