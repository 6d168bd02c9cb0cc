"""``python -m local`` (what ``make run`` runs) as a subprocess on free ports, for e2e tests and bench."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from local import ROOT


@dataclass
class StackProcess:
    process: subprocess.Popen[str]
    urls: dict[str, str]
    output: list[str] = field(default_factory=list)
    #: demo user (``admin``, ``alice``, ``bob``) -> the access token the stack printed for it
    tokens: dict[str, str] = field(default_factory=dict)
    user_pool: str = ""
    client_id: str = ""
    #: A STATE_DIR this handle made (removed at ``stop``); None when the caller chose one.
    temporary_state: Path | None = None

    def auth(self, user: str = "admin") -> dict[str, str]:
        """The ``Authorization`` header of a demo user's printed access token."""
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    @property
    def query(self) -> str:
        return self.urls["Query"]

    @property
    def command(self) -> str:
        return self.urls["Command"]

    @property
    def endpoint(self) -> str:
        return self.urls["AWS endpoint"]

    @property
    def lambda_endpoint(self) -> str:
        """The Lambda API (``local.stack.lambda_api``): Invoke, Put/Get/DeleteFunctionConcurrency."""
        return self.urls["Lambda endpoint"]

    def descendants(self) -> set[int]:
        found, frontier = set(), [self.process.pid]
        while frontier:
            pid = frontier.pop()
            for task in Path(f"/proc/{pid}/task").glob("*"):  # children of every thread
                try:
                    children = (task / "children").read_text().split()
                except OSError:
                    continue
                found.update(int(child) for child in children)
                frontier.extend(int(child) for child in children)
        return found

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=60)
        if self.temporary_state is not None:
            shutil.rmtree(self.temporary_state, ignore_errors=True)
        return code


def start(template: Path | None = None, *, own_group: bool = False, **environment: str) -> StackProcess:
    """``own_group``: in a process group of its own, which a test may signal as a terminal's Ctrl-C
    signals the foreground group (every process in it).

    The stack keeps its event stores in a fresh temporary STATE_DIR (removed at ``stop``) unless
    ``environment`` names one: a test never sees another's state, nor the developer's ``.local/``."""
    temporary_state = None
    if "STATE_DIR" not in environment:
        temporary_state = Path(tempfile.mkdtemp(prefix="shop-state-"))
        environment = {**environment, "STATE_DIR": str(temporary_state)}
    env = {
        **os.environ,
        "QUERY_PORT": "0",
        "COMMAND_PORT": "0",
        "MOTO_PORT": "0",
        "LAMBDA_PORT": "0",
        "SEED": "0",
        "POLL_INTERVAL": "0.05",
        "LOCAL_RETRY_DELAY": "0.01",
        "LOCAL_PARENT_PID": str(os.getpid()),  # the stack stops itself if this process dies
        **environment,
    }
    arguments = [sys.executable, "-m", "local"] + (["--template", str(template)] if template else [])
    process = subprocess.Popen(
        arguments,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        process_group=0 if own_group else None,
    )
    assert process.stdout is not None
    running = StackProcess(process, {}, temporary_state=temporary_state)
    for line in process.stdout:
        running.output.append(line)
        found = re.match(r"\s+([\w ]+?)(?: API)?:\s+(http://\S+)", line)
        if found:
            running.urls[found.group(1)] = found.group(2)
        token = re.match(r"\s+export (\w+)=(\S+)$", line)
        if token:
            running.tokens[token.group(1).lower()] = token.group(2)
        cognito = re.match(r"\s+Cognito:\s+user pool (\S+), app client (\S+)$", line)
        if cognito:
            running.user_pool, running.client_id = cognito.groups()
        if line.startswith("Ctrl-C stops everything"):
            break
    else:
        if temporary_state is not None:
            shutil.rmtree(temporary_state, ignore_errors=True)
        raise RuntimeError("the local stack exited:\n" + "".join(running.output))
    threading.Thread(target=_drain, args=(running,), daemon=True).start()
    return running


def _drain(running: StackProcess) -> None:
    assert running.process.stdout is not None
    for line in running.process.stdout:
        running.output.append(line)
