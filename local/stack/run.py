"""``make run``: the whole system on one machine, from ``template.yaml``.

Environment: QUERY_PORT (3000), COMMAND_PORT (3001), <API>_PORT for any other HTTP API, LAMBDA_PORT
(3002: the Lambda API for the template's functions, local.stack.lambda_api), HOST (127.0.0.1),
MOTO_PORT (4566), MOTO_HOST (127.0.0.1; 0.0.0.0 lets `sam local` containers in, and
writes their --env-vars file, .local/sam-env.json, for the endpoint),
SEED (1: seed the demo catalog into empty event stores), STATE_DIR (.local: the event stores on
disk, restored at start; ``make reset`` clears it), POLL_INTERVAL (0.1 s), LOG_LEVEL (WARNING: the
functions' Powertools log level), LOCAL_CONCURRENCY (4 workers per function), LOCAL_RETRY_DELAY
(0.05 s, doubles per retry).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local import ROOT
from local.aws import calls
from local.aws.functions import OFFLINE_ENVIRONMENT
from local.aws.template import TEMPLATE, Template
from local.demo import envfile
from local.demo.fixtures import create_sample_aggregates
from local.demo.seed import seed
from local.demo.users import DEMO_PASSWORD, DEMO_USERS
from local.stack.lambda_api import LambdaApi
from local.stack.pool import WorkerPoolInvoker
from local.stack.server import ApiServer
from local.stack.stack import Clients, Stack
from local.stack.state import EventStoreJournal
from shop.operations.readmodels import EVENT_STORES, READ_MODELS
from shop.operations.rebuild import dynamodb_rebuild

DEFAULT_PORTS = {"QueryApi": 3000, "CommandApi": 3001}
#: The first request to each function waits for its workers to import the handler: on a loaded
#: 2-core machine that has taken 30-60 s, which must not crash `make run`.
SEED_REQUEST_TIMEOUT = 120


def port_variable(api: str) -> str:
    """``QueryApi`` -> ``QUERY_PORT``, ``AdminHttpApi`` -> ``ADMIN_HTTP_PORT``."""
    stem = api.removesuffix("Api") or api
    return re.sub(r"(?<!^)(?=[A-Z])", "_", stem).upper() + "_PORT"


def log(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)


@dataclass
class Settings:
    host: str = "127.0.0.1"
    moto_host: str = "127.0.0.1"
    moto_port: int = 4566
    lambda_port: int = 3002
    poll_interval: float = 0.1
    retry_delay: float = 0.05
    concurrency: int = 4
    seed: bool = True
    log_level: str = "WARNING"
    ports: dict[str, int] = field(default_factory=dict)
    state_dir: Path = ROOT / ".local"

    @classmethod
    def from_env(cls, template: Template) -> Settings:
        env = os.environ
        ports = {}
        for index, api in enumerate(sorted(template.http_apis, key=lambda a: (a not in DEFAULT_PORTS, a))):
            ports[api] = int(env.get(port_variable(api), DEFAULT_PORTS.get(api, 3000 + index)))
        return cls(
            host=env.get("HOST", "127.0.0.1"),
            moto_host=env.get("MOTO_HOST", "127.0.0.1"),
            moto_port=int(env.get("MOTO_PORT", "4566")),
            lambda_port=int(env.get("LAMBDA_PORT", "3002")),
            poll_interval=float(env.get("POLL_INTERVAL", "0.1")),
            retry_delay=float(env.get("LOCAL_RETRY_DELAY", "0.05")),
            concurrency=int(env.get("LOCAL_CONCURRENCY", "4")),
            seed=env.get("SEED", "1") not in ("0", "false", "no"),
            log_level=env.get("LOG_LEVEL", "WARNING"),
            ports=ports,
            state_dir=ROOT / env.get("STATE_DIR", ".local"),
        )


class Runner:
    """``make run``: the moto endpoint process, the ``Stack`` with worker processes per function,
    its delivery loops in threads, and an HTTP server per API."""

    def __init__(self, template: Template, settings: Settings) -> None:
        self.template = template
        self.settings = settings
        self.stopping = threading.Event()
        self.endpoint_process: subprocess.Popen[str] | None = None
        self.endpoint_url = ""
        self.container_endpoint: str | None = None  # the endpoint as sam local containers see it
        self.servers: dict[str, ApiServer] = {}
        self.lambda_api: LambdaApi | None = None
        self.lambda_server: ApiServer | None = None
        self.threads: list[threading.Thread] = []
        self.invoker: WorkerPoolInvoker | None = None
        self.stack: Stack | None = None
        self.tokens: dict[str, str] = {}  # demo user -> access token
        self.journal: EventStoreJournal | None = None
        #: commits restored from STATE_DIR at start, by event store
        self.restored: dict[str, int] = {}
        self.rebuilt: list[str] = []

    # ----------------------------------------------------------------- start
    def start(self) -> None:
        calls.record_from_environment()  # LOCAL_CALL_LOG: stream reads and on-failure sends, per function
        self._start_endpoint()
        for name, value in OFFLINE_ENVIRONMENT.items():
            os.environ.setdefault(name, value)
        clients = Clients.connect(self.endpoint_url)
        self.stack = Stack(self.template, clients, retry_delay=self.settings.retry_delay, log_line=log)
        self.stack.create_resources()
        self._restore_state()
        if self.stack.users() is not None:  # the demo users, signed in with the real Cognito API
            self.tokens = {user: self.stack.token(user) for user in DEMO_USERS}
        self.invoker = WorkerPoolInvoker(
            self.template.functions, self._function_environment, max_workers=self.settings.concurrency
        )
        self.invoker.warm_all()
        self.stack.start_mappings(self.invoker)
        self._journal_streams()
        self.stack.delivery.run_in_threads(self._thread, self.stopping, self.settings.poll_interval)
        for api, port in self.settings.ports.items():
            server = ApiServer(
                api, (self.settings.host, port), lambda r, a=api: self.stack.serve_http(a, r), log
            )  # type: ignore[union-attr]
            self.servers[api] = server
            self._thread(server.serve_forever, name=f"http-{api}")
        self._start_lambda_endpoint()

    def _start_lambda_endpoint(self) -> None:
        """The Lambda API (Invoke, Put/Get/DeleteFunctionConcurrency) on LAMBDA_PORT."""
        stack = self.stack
        assert stack is not None
        assert stack.invoker is not None
        self.lambda_api = LambdaApi(
            self.template.functions, stack.invoker, stack.concurrency, region=stack.region, log=log
        )
        self.lambda_server = ApiServer(
            "Lambda", (self.settings.host, self.settings.lambda_port), self.lambda_api.handle, log
        )
        self._thread(self.lambda_server.serve_forever, name="http-Lambda")

    def _restore_state(self) -> None:
        """The event stores from STATE_DIR, then every read table rebuilt from them (``shopctl
        rebuild``'s path), before any consumer or API runs."""
        assert self.stack is not None
        stores = [store for store in EVENT_STORES if store in self.template.tables]
        self.journal = EventStoreJournal(self.settings.state_dir, stores, log)
        self.restored = self.journal.restore(self.stack.clients.dynamodb, self.stack.physical)
        if not any(self.restored.values()):
            return
        for model in READ_MODELS.values():
            if model.table not in self.template.tables or model.store not in self.template.tables:
                continue
            rebuild = dynamodb_rebuild(
                model,
                self.stack.clients.dynamodb,
                store_table=self.stack.physical[model.store],
                view_table=self.stack.physical[model.table],
            )
            outcome = rebuild.run()
            # A stream that cannot be applied (a poison its consumer had parked) fails alone, as in
            # `shopctl rebuild`: the start goes on, and the mapping, which starts at the trim
            # horizon, parks it again. Once the cause is fixed, `make redrive` applies it.
            for failure in outcome.failures:
                log(
                    f"state: {model.table} could not apply {failure.stream_id or 'a scan segment'}"
                    f" ({failure.error}); it will be parked again: docs/parking.md"
                )
            unapplied = f", {len(outcome.failures)} not applied" if outcome.failures else ""
            self.rebuilt.append(
                f"{model.table} ({outcome.events} events, {outcome.rows_written} row writes"
                f"{unapplied}, {outcome.seconds:.1f} s)"
            )

    def _journal_streams(self) -> None:
        """Every event store's stream reader appends what it reads to the store's journal."""
        assert self.stack is not None
        journal = self.journal
        if journal is None:
            return
        for source in self.stack.delivery.sources:
            if source.table in journal.stores:
                source.observers.append(lambda records, store=source.table: journal.record(store, records))

    def _final_journal_read(self) -> None:
        """At a stop, once nothing writes any more: what the streams hold that is not on disk yet."""
        if self.stack is None or self.journal is None:
            return
        for source in self.stack.delivery.sources:
            if source.table in self.journal.stores:
                try:
                    with source.lock:
                        while records := source.reader.read():
                            self.journal.record(source.table, records)
                except Exception as error:  # report it; the stop goes on
                    log(f"state: the last read of {source.table} failed: {type(error).__name__}: {error}")
        self.journal.close()

    def _start_endpoint(self) -> None:
        self.endpoint_process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "local.aws.endpoint",
                "--host",
                self.settings.moto_host,
                "--port",
                str(self.settings.moto_port),
                "--parent-pid",
                str(os.getpid()),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.endpoint_process.stdout is not None
        line = self.endpoint_process.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError(f"the moto endpoint did not start (port {self.settings.moto_port} in use?)")
        port = int(line.split()[1])
        host = "127.0.0.1" if self.settings.moto_host in ("0.0.0.0", "") else self.settings.moto_host
        self.endpoint_url = f"http://{host}:{port}"
        self.container_endpoint = envfile.container_endpoint(self.settings.moto_host, port)

    def _function_environment(self, function: str) -> dict[str, str]:
        assert self.stack is not None
        fn = self.template.functions[function]
        python_path = [str(fn.code_uri), *(str(p) for p in self.template.layer_paths(fn)), str(ROOT)]
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
        return {
            **inherited,
            **OFFLINE_ENVIRONMENT,
            **self.stack.environment(function),
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_LAMBDA_FUNCTION_NAME": function,
            "POWERTOOLS_LOG_LEVEL": self.settings.log_level,
            "PYTHONPATH": os.pathsep.join(python_path),
            "PYTHONUNBUFFERED": "1",
        }

    def _thread(self, target: Any, *args: Any, name: str) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def settle(self, timeout: float = 15.0) -> None:
        """Wait until every subscription has delivered what its stream holds."""
        assert self.stack is not None
        deadline = time.monotonic() + timeout
        time.sleep(self.settings.poll_interval * 2)
        while time.monotonic() < deadline and not all(m.idle for m in self.stack.mappings):
            time.sleep(self.settings.poll_interval)

    def seed(self) -> int:
        """The demo catalog through the Command API, as the ``admin`` user."""
        base = self.url("CommandApi")
        headers = {"Content-Type": "application/json"}
        if "admin" in self.tokens:
            headers["Authorization"] = f"Bearer {self.tokens['admin']}"

        def send(method: str, path: str, body: dict[str, Any] | None) -> tuple[int, Any]:
            data = json.dumps(body).encode() if body is not None else None
            request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=SEED_REQUEST_TIMEOUT) as response:
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as error:
                return error.code, json.loads(error.read() or b"{}")

        return len(seed(send))

    def url(self, api: str) -> str:
        return self._url(self.servers[api])

    def _url(self, server: ApiServer) -> str:
        host = "127.0.0.1" if self.settings.host in ("0.0.0.0", "") else self.settings.host
        return f"http://{host}:{server.port}"

    @property
    def lambda_url(self) -> str:
        assert self.lambda_server is not None
        return self._url(self.lambda_server)

    # ----------------------------------------------------------------- stop
    def stop(self) -> None:
        self.stopping.set()
        if self.lambda_api is not None:
            self.lambda_api.close()
        servers = [*self.servers.values(), *([self.lambda_server] if self.lambda_server else [])]
        for server in servers:
            server.shutdown()
            server.server_close()
        if self.invoker is not None:
            self.invoker.close()  # in-flight invocations end now, so pollers finish quickly
        deadline = time.monotonic() + 5
        for thread in self.threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if self.stack is not None:
            self.stack.delivery.close()
        self._final_journal_read()
        if self.endpoint_process is not None:
            self.endpoint_process.terminate()
            try:
                self.endpoint_process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.endpoint_process.kill()
                self.endpoint_process.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    args = parser.parse_args(argv)
    template = Template(args.template)
    settings = Settings.from_env(template)
    local = Runner(template, settings)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if os.environ.get("LOCAL_PARENT_PID"):
        parent = int(os.environ["LOCAL_PARENT_PID"])
        threading.Thread(target=_stop_when_gone, args=(parent, stop), daemon=True).start()
    try:
        local.start()
        restored = any(local.restored.values())
        seeded = local.seed() if settings.seed and not restored and "CommandApi" in local.servers else 0
        if seeded:
            create_sample_aggregates(local.stack.clients.dynamodb, local.stack.physical)  # type: ignore[union-attr]
        local.settle()
        sam_env = None
        if local.container_endpoint:  # reachable from containers: the --env-vars file for this endpoint
            sam_env = envfile.write(template, local.container_endpoint, envfile.RUNNING_OUTPUT)
        print_ready(local, seeded, sam_env)
        stop.wait()
        log("stopping ...")
    finally:
        local.stop()
    log("stopped")


def _stop_when_gone(pid: int, stop: threading.Event) -> None:
    """For supervised runs (tests, benchmarks): stop when the supervising process is gone."""
    while not stop.wait(0.5):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            stop.set()


def print_ready(local: Runner, seeded: int, sam_env: Path | None = None) -> None:
    lines = ["", "Local stack ready:"]
    for api in local.servers:
        label = f"{api.removesuffix('Api')} API:"
        lines.append(f"  {label:<14} {local.url(api)}")
    if local.lambda_server is not None:
        lines.append(f"  {'Lambda endpoint:':<14} {local.lambda_url}")
    lines.append(f"  {'AWS endpoint:':<14} {local.endpoint_url}  (moto: {', '.join(local.template.tables)})")
    if local.container_endpoint:
        where = f"  (sam local: --env-vars {sam_env.relative_to(ROOT)})" if sam_env else ""
        lines.append(f"  {'In containers:':<14} {local.container_endpoint}{where}")
    mappings = local.stack.mappings if local.stack else []
    lines.extend(f"  {'Stream:':<14} {m.subscription.table} -> {m.function}" for m in mappings)
    queues = local.stack.queue_mappings if local.stack else []
    lines.extend(f"  {'Queue:':<14} {q.subscription.queue} -> {q.function}" for q in queues)
    lines.append(state_line(local))
    if seeded:
        lines.append(f"  Seeded {seeded} demo products through the Command API, and the carts events/ uses.")
    lines.extend(sign_in_lines(local))
    lines.append("Ctrl-C stops everything.")
    print("\n".join(lines), flush=True)


def state_line(local: Runner) -> str:
    """Where the event stores are kept, and what came back from there."""
    where = local.settings.state_dir
    shown = where.relative_to(ROOT) if where.is_relative_to(ROOT) else where
    commits = sum(local.restored.values())
    if not commits:
        return f"  {'State:':<14} {shown}/ (empty; make reset clears it)"
    line = f"  {'State:':<14} {shown}/: {commits} commits restored; rebuilt {', '.join(local.rebuilt)}"
    skipped = local.journal.skipped if local.journal is not None else {}
    if skipped:
        where_skipped = "; ".join(f"{store}.jsonl lines {numbers}" for store, numbers in skipped.items())
        line += f"\n  {'':<14} lines that did not read were skipped: {where_skipped}"
    return line


def sign_in_lines(local: Runner) -> list[str]:
    """The user pool, the demo users and a ready access token for each (``export`` lines to paste)."""
    directory = local.stack.users() if local.stack else None
    if directory is None or not local.tokens:
        return []
    users = ", ".join(
        f"{user} (group {', '.join(groups)})" if groups else user for user, groups in DEMO_USERS.items()
    )
    lines = [
        f"  {'Cognito:':<14} user pool {directory.pool_id}, app client {directory.client_id}",
        f"  {'Users:':<14} {users}; password {DEMO_PASSWORD}",
        "  Access tokens (valid 1 h; Authorization: Bearer <token>):",
    ]
    lines.extend(f"    export {user.upper()}={token}" for user, token in local.tokens.items())
    return lines


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
