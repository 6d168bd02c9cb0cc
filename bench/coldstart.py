"""Cold start as a user pays it: each function's handler import and first invocation, from `sam build` output.

Every figure is a fresh ``python3.13 -B -S`` process (``-B``: Lambda's ``/var/task`` and ``/opt`` are
read-only, so nothing compiled at run time is kept; ``-S``: no site-packages) that sees only the
function's artifact and the layer's ``python`` directory, as Lambda puts them on ``sys.path``, with the
function's environment from template.yaml plus what Lambda sets. It imports the handler as Lambda's
bootstrap does and invokes it once with a sample from ``events/`` against the local stack's endpoint,
seeded as ``make run`` seeds it. The baseline is ``import boto3`` plus one DynamoDB ``GetItem``
against the same endpoint, with a boto3 that has its bytecode (as the runtime's has).

The primary figure is the child's CPU time (user + system, from ``wait4``): other processes load this
machine, which makes wall time noise. Runs interleave the baseline with the functions; each ratio is a
run's CPU time over the baseline's median, summarised as median (min-max).

Variants: the layer as built now (bytecode compiled at build time) with ``Tracing`` Active and
PassThrough; the same tree with its bytecode removed, as the ``BuildMethod: python3.13`` build shipped
it; and the layer without its boto3 stack, boto3 taken from a "runtime" directory instead (the pin's
cost, docs/decisions.md). ``BENCH_COLDSTART_RUNS`` (5) sets the number of runs, and
``BENCH_COLDSTART_BEFORE_RUNS`` (3) that of the last two variants, slower or only for the record.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from local import ROOT
from local.aws.functions import OFFLINE_ENVIRONMENT
from local.aws.template import Template
from local.demo.envfile import sam_environment
from local.stack.process import start

RUNS = int(os.environ.get("BENCH_COLDSTART_RUNS", "5"))
BEFORE_RUNS = int(os.environ.get("BENCH_COLDSTART_BEFORE_RUNS", "3"))
#: The runtime's minor version, without the venv (``-S`` would drop its site-packages anyway).
PYTHON = getattr(sys, "_base_executable", sys.executable)
BENCH_DIR = ROOT / ".aws-sam" / "bench"
#: What the Lambda Python runtime already has: boto3 and its dependencies (import names).
RUNTIME_PACKAGES = frozenset({"boto3", "botocore", "s3transfer", "urllib3", "dateutil", "jmespath", "six"})
_DISTRIBUTIONS = {"python_dateutil": "dateutil"}
#: Functions with several samples in events/: the one measured (a success path, as a first customer meets it).
PREFERRED_SAMPLES = {
    "CartCommands": "add-cart-item.json",
    "CartQueries": "get-cart.json",
    "CatalogCommands": "change-product-price.json",
    "CatalogQueries": "get-product.json",
    "OrderQueries": "get-order.json",
}
#: Samples measured besides: a keyed command also loads Powertools Idempotency in its first invocation.
EXTRA_SAMPLES = {"CatalogCommands": ("receive-stock-with-idempotency-key.json",)}
#: aws-lambda-handler-cookbook's create-order handler, as issue 13 measured it (a venv with bytecode,
#: import only, against ``import boto3`` alone).
COOKBOOK_RATIO = 3.8
#: The seeded product the baseline's GetItem reads (local/demo/seed.py's ESP-CUP-01).
BASELINE_KEY = {"productId": {"S": "0fe8312e-475b-5fc5-aa8e-4803ad828834"}}

MARKER = "@@coldstart@@"
TRACE_ROOT = "1-5759e988-bd862e3fe1be46a994272793"

_BASELINE = """\
import boto3
boto3.client("dynamodb").get_item(TableName={table!r}, Key={key!r})
print({marker!r}, '{{"answer": "GetItem"}}')
"""

#: What every function of the shop needs before its own code, in steps (each adds to the one before):
#: pydantic with one model validated and Powertools' Logger writing a line; then either Powertools'
#: HTTP resolver with validation (the HTTP functions' edge) or the X-Ray SDK patching botocore (Tracing
#: Active). The same process shapes as the baseline, so the ratios say what each layer of the stack
#: costs before any line of ours runs.
_FLOOR = _BASELINE.replace(
    "print(",
    """from pydantic import BaseModel


class Probe(BaseModel):
    name: str
    quantity: int


Probe.model_validate({{"name": "cup", "quantity": 1}})
from aws_lambda_powertools import Logger

Logger(service="bench").info("probe")
{more}print(""",
    1,
)
_RESOLVER = """from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

app = APIGatewayHttpResolver(enable_validation=True)
app.get("/probe")(lambda: {})
"""
_XRAY = """from aws_lambda_powertools import Tracer

Tracer(service="bench", patch_modules=("botocore",))
"""
FLOORS = {
    "pydantic + Logger": ("", False),
    "pydantic + Logger + HTTP resolver (validation on)": (_RESOLVER, False),
    "pydantic + Logger + X-Ray (Tracing Active)": (_XRAY, True),
}

_HANDLER = """\
import importlib, json, time
module = importlib.import_module({module!r})
imported = time.process_time()
handler = getattr(module, {attribute!r})


class Context:
    function_name = {function!r}
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + {function!r}
    memory_limit_in_mb = 1024
    aws_request_id = "00000000-0000-4000-8000-000000000001"
    log_group_name = "/aws/lambda/" + {function!r}
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self):
        return 10000


with open({event!r}) as sample:
    event = json.load(sample)
try:
    result = handler(event, Context())
except Exception as error:
    answer = "raised " + type(error).__name__
else:
    if isinstance(result, dict) and "statusCode" in result:
        answer = str(result["statusCode"])
    elif isinstance(result, dict) and "batchItemFailures" in result:
        answer = "%d failed records" % len(result["batchItemFailures"])
    else:
        answer = type(result).__name__
print({marker!r}, json.dumps({{"answer": answer, "import_cpu": imported}}))
"""


# ---------------------------------------------------------------------------------------------- pure parts
@dataclass(frozen=True)
class Stats:
    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Stats:
        ordered = sorted(values)
        if not ordered:
            raise ValueError("no values")
        return cls(statistics.median(ordered), ordered[0], ordered[-1])

    def ratio_cell(self) -> str:
        return f"{self.median:.2f} ({self.low:.2f}-{self.high:.2f})"


@dataclass
class Sample:
    cpu: float  # seconds, user + system of the whole child process
    wall: float
    answer: str


@dataclass
class Measured:
    """The runs of one (function, sample) per variant."""

    function: str
    sample: str
    runs: dict[str, list[Sample]] = field(default_factory=dict)

    def ratios(self, variant: str, baseline_cpu: float) -> Stats | None:
        samples = self.runs.get(variant)
        return Stats.of(s.cpu / baseline_cpu for s in samples) if samples else None

    def cpu_ms(self, variant: str) -> float | None:
        samples = self.runs.get(variant)
        return statistics.median(s.cpu for s in samples) * 1000 if samples else None

    def wall_ms(self, variant: str) -> float | None:
        samples = self.runs.get(variant)
        return statistics.median(s.wall for s in samples) * 1000 if samples else None

    def answers(self, variant: str) -> str:
        return ", ".join(sorted({s.answer for s in self.runs.get(variant, [])}))


def choose_samples(function: str, available: Iterable[str]) -> list[str]:
    """The measured samples of a function: its only one, or the preferred one (+ extras), else the first."""
    names = sorted(available)
    if not names:
        return []
    chosen = PREFERRED_SAMPLES.get(function)
    first = chosen if chosen in names else names[0]
    return [first, *(extra for extra in EXTRA_SAMPLES.get(function, ()) if extra in names)]


def runtime_package(entry: str) -> bool:
    """Whether a top-level entry of the layer's ``python`` dir belongs to what the runtime already has."""
    name = entry.removesuffix(".py")
    if entry.endswith(".dist-info"):
        name = entry.split("-", maxsplit=1)[0]
    elif entry.endswith(".pyc"):  # __pycache__/six.cpython-313.pyc
        name = entry.split(".", maxsplit=1)[0]
    return _DISTRIBUTIONS.get(name, name).lower() in RUNTIME_PACKAGES


VARIANTS = {
    "before": "no bytecode (as `BuildMethod: python3.13` shipped it), Tracing Active",
    "active": "bytecode, Tracing Active",
    "passthrough": "bytecode, Tracing PassThrough",
    "runtime-boto3": "bytecode, Tracing Active, boto3 stack from a runtime directory instead of the layer",
}


def _cell(value: Stats | None) -> str:
    return value.ratio_cell() if value else "-"


def _ms(value: float | None) -> str:
    return f"{value:.0f}" if value is not None else "-"


def table(baseline: list[Sample], measured: list[Measured]) -> str:
    """The cold-start table: ratios to the baseline's median CPU time, CPU and wall milliseconds."""
    base = Stats.of(s.cpu for s in baseline)
    wall = Stats.of(s.wall for s in baseline)
    header = (
        "| Function | Sample (answer) | Before: no bytecode, Active | **Tracing Active**"
        " | Tracing PassThrough | CPU ms Active / PassThrough | Wall ms Active |"
    )
    lines = [
        (
            f"Baseline, `import boto3` + one `GetItem` (boto3 with bytecode): **{base.median * 1000:.0f} ms"
            f" CPU** (min {base.low * 1000:.0f}, max {base.high * 1000:.0f}; {wall.median * 1000:.0f} ms"
            f" wall), {len(baseline)} runs."
        ),
        "",
        header,
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {m.function} | {m.sample.removesuffix('.json')} ({m.answers('active')})"
        f" | {_cell(m.ratios('before', base.median))} | **{_cell(m.ratios('active', base.median))}**"
        f" | {_cell(m.ratios('passthrough', base.median))}"
        f" | {_ms(m.cpu_ms('active'))} / {_ms(m.cpu_ms('passthrough'))} | {_ms(m.wall_ms('active'))} |"
        for m in measured
    ]
    return "\n".join(lines)


def boto3_table(baseline: list[Sample], measured: list[Measured]) -> str:
    """The pin's cost: the same functions with the layer's boto3 and with a runtime directory's."""
    base = Stats.of(s.cpu for s in baseline).median
    lines = [
        "| Function | boto3 in the layer | boto3 from the runtime | difference |",
        "|---|---:|---:|---:|",
    ]
    for m in measured:
        layer, runtime = m.ratios("active", base), m.ratios("runtime-boto3", base)
        if layer and runtime:
            lines.append(
                f"| {m.function} ({m.sample.removesuffix('.json')}) | {layer.ratio_cell()}"
                f" | {runtime.ratio_cell()} | {runtime.median - layer.median:+.2f} |"
            )
    return "\n".join(lines)


def floor_table(baseline: list[Sample], floors: list[Measured]) -> str:
    """What the shop's dependencies cost before its own code runs (``FLOORS``), as ratios."""
    base = Stats.of(s.cpu for s in baseline).median
    lines = ["| Before any code of ours | ratio | CPU ms |", "|---|---:|---:|"]
    lines += [
        f"| {m.function} | {_cell(m.ratios('floor', base))} | {_ms(m.cpu_ms('floor'))} |" for m in floors
    ]
    return "\n".join(lines)


def over(baseline: list[Sample], measured: list[Measured], variant: str, limit: float = 1.5) -> list[str]:
    """The functions (with their sample) whose median ratio in ``variant`` is above ``limit``."""
    base = Stats.of(s.cpu for s in baseline).median
    return [
        f"{m.function} ({m.sample.removesuffix('.json')})"
        for m in measured
        if (r := m.ratios(variant, base)) and r.median > limit
    ]


def summary(baseline: list[Sample], measured: list[Measured]) -> str:
    base = Stats.of(s.cpu for s in baseline).median
    lines = []
    for variant in ("before", "active", "passthrough"):
        medians = [r.median for m in measured if (r := m.ratios(variant, base))]
        if medians:
            within = sum(1 for value in medians if value <= 1.5)
            lines.append(
                f"* {VARIANTS[variant]}: {min(medians):.2f}-{max(medians):.2f}x (medians),"
                f" {within} of {len(medians)} rows at most 1.5x."
            )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- building
def host_architecture() -> str:
    machine = platform.machine().lower()
    return "arm64" if machine in ("aarch64", "arm64") else "x86_64"


def sam_build(architecture: str) -> Path:
    """``sam build`` of template.yaml into the bench's own build dir (cached); the build dir."""
    # One directory per architecture: sam writes its build.toml (the cache's key) next to the build dir.
    build_dir = BENCH_DIR / architecture / "build"
    bin_dir = Path(sys.executable).parent
    built = subprocess.run(
        [
            str(bin_dir / "sam"),
            "build",
            "--template-file",
            str(ROOT / "template.yaml"),
            "--build-dir",
            str(build_dir),
            "--cache-dir",
            str(BENCH_DIR / architecture / "cache"),
            "--cached",
            "--parameter-overrides",
            f"Architecture={architecture}",
        ],
        cwd=ROOT,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode:
        raise RuntimeError(
            f"sam build failed ({built.returncode}):\n{built.stdout[-3000:]}{built.stderr[-3000:]}"
        )
    return build_dir


@dataclass(frozen=True)
class Trees:
    shipped: Path  # the layer's python dir as built
    without_bytecode: Path
    without_boto3: Path
    runtime: Path  # the boto3 stack, with bytecode, as the runtime has it


def prepare_trees(layer: Path) -> Trees:
    """The variants of the layer's python dir, next to the build (rebuilt every run)."""
    root = layer.parent.parent.parent / f"{layer.parent.parent.name}-variants"
    shutil.rmtree(root, ignore_errors=True)
    trees = Trees(layer, root / "without-bytecode", root / "without-boto3", root / "runtime")
    shutil.copytree(layer, trees.without_bytecode, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for entry in layer.iterdir():
        if entry.name == "__pycache__":  # top-level modules' bytecode (six, typing_extensions)
            for compiled in entry.iterdir():
                into = trees.runtime if runtime_package(compiled.name) else trees.without_boto3
                (into / "__pycache__").mkdir(parents=True, exist_ok=True)
                shutil.copy2(compiled, into / "__pycache__" / compiled.name)
            continue
        into = trees.runtime if runtime_package(entry.name) else trees.without_boto3
        into.mkdir(parents=True, exist_ok=True)
        if entry.is_dir():
            shutil.copytree(entry, into / entry.name)
        else:
            shutil.copy2(entry, into / entry.name)
    return trees


# ---------------------------------------------------------------------------------------------- running
def run_child(code: str, env: Mapping[str, str]) -> Sample:
    """One fresh interpreter; its CPU time (user + system) from wait4, its wall time, its answer."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [PYTHON, "-B", "-S", "-c", code],
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    process.stdout.close()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    reported = [line for line in output.splitlines() if line.startswith(MARKER)]
    if process.returncode or not reported:
        raise RuntimeError(f"the measured process failed ({process.returncode}):\n{output[-3000:]}")
    answer = json.loads(reported[-1].removeprefix(MARKER))["answer"]
    return Sample(usage.ru_utime + usage.ru_stime, wall, answer)


def lambda_environment(
    function: str, variables: Mapping[str, str], task_root: Path, *, tracing: bool
) -> dict[str, str]:
    """What the function sees in Lambda: its template variables and the runtime's own."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        **OFFLINE_ENVIRONMENT,
        **variables,
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "LAMBDA_TASK_ROOT": str(task_root),
        "POWERTOOLS_TRACE_DISABLED": "false" if tracing else "true",
        # Lambda's trace header; Sampled=1 under Active, so the X-Ray SDK records (to a daemon address
        # nobody listens on: UDP, so it costs the sends and nothing else).
        "_X_AMZN_TRACE_ID": f"Root={TRACE_ROOT};Parent=53995c3f42cd8ad8;Sampled={int(tracing)}",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    }
    environment.pop("POWERTOOLS_METRICS_DISABLED", None)  # Lambda writes the EMF metrics: so do we
    return environment


def run(architecture: str | None = None) -> tuple[str, list[Sample], list[Measured], list[Measured]]:
    architecture = architecture or host_architecture()
    template = Template()
    build = sam_build(architecture)
    trees = prepare_trees(build / "ShopLayer" / "python")
    stack = start(SEED="1")
    try:
        variables = sam_environment(template, stack.endpoint)
        baseline_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            **OFFLINE_ENVIRONMENT,
            "AWS_ENDPOINT_URL": stack.endpoint,
            "PYTHONPATH": str(trees.runtime),
        }
        baseline_code = _BASELINE.format(table="ProductsView", key=BASELINE_KEY, marker=MARKER)
        plans: list[tuple[Measured, dict[str, tuple[str, dict[str, str]]]]] = []
        for name, function in sorted(template.functions.items()):
            task_root = build / name
            module, _, attribute = function.handler.rpartition(".")
            samples_dir = ROOT / "events" / name
            for sample in choose_samples(name, (p.name for p in samples_dir.glob("*.json"))):
                code = _HANDLER.format(
                    module=module,
                    attribute=attribute,
                    function=name,
                    event=str(samples_dir / sample),
                    marker=MARKER,
                )

                def env(
                    layer: list[Path], *, tracing: bool, task_root: Path = task_root, name: str = name
                ) -> dict[str, str]:
                    environment = lambda_environment(name, variables[name], task_root, tracing=tracing)
                    environment["PYTHONPATH"] = os.pathsep.join(str(p) for p in [task_root, *layer])
                    return environment

                plans.append(
                    (
                        Measured(name, sample),
                        {
                            "active": (code, env([trees.shipped], tracing=True)),
                            "passthrough": (code, env([trees.shipped], tracing=False)),
                            "runtime-boto3": (code, env([trees.without_boto3, trees.runtime], tracing=True)),
                            "before": (code, env([trees.without_bytecode], tracing=True)),
                        },
                    )
                )
        floors = [Measured(label, "-") for label in FLOORS]
        endpoint = {"AWS_ENDPOINT_URL": stack.endpoint}
        floor_runs = {
            label: (
                _FLOOR.format(table="ProductsView", key=BASELINE_KEY, marker=MARKER, more=more),
                {
                    **lambda_environment("Floor", endpoint, build, tracing=tracing),
                    "PYTHONPATH": str(trees.shipped),
                },
            )
            for label, (more, tracing) in FLOORS.items()
        }
        # Warm the stack's first answers (its workers' own cold starts) before anything is timed.
        run_child(baseline_code, baseline_env)
        baseline: list[Sample] = []
        for round_number in range(RUNS):
            for measured, variants in plans:
                baseline.append(run_child(baseline_code, baseline_env))
                for variant, (code, environment) in variants.items():
                    if variant in ("before", "runtime-boto3") and round_number >= BEFORE_RUNS:
                        continue
                    measured.runs.setdefault(variant, []).append(run_child(code, environment))
            for floor in floors:
                baseline.append(run_child(baseline_code, baseline_env))
                code, environment = floor_runs[floor.function]
                floor.runs.setdefault("floor", []).append(run_child(code, environment))
            print(f"bench: coldstart round {round_number + 1}/{RUNS} done", file=sys.stderr, flush=True)
    finally:
        stack.stop()
    return architecture, baseline, [measured for measured, _ in plans], floors
