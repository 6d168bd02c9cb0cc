"""Cold-start import cost of every function's handler module, as a ratio to ``import boto3``.

Each figure is the median of several fresh interpreters that see only the standard library and
what the layer ships (what a Lambda cold start pays for the init phase's imports), measured in
the same run as the ``import boto3`` baseline.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from local.aws.functions import OFFLINE_ENVIRONMENT, function_environment
from local.aws.template import Template

RUNS = 7

_MEASURE = """
import importlib.util, sys, time
start = time.perf_counter()
{body}
print(time.perf_counter() - start)
"""
_LOAD = """
spec = importlib.util.spec_from_file_location("handler_module", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
"""


@dataclass
class ImportTime:
    function: str
    seconds: float
    ratio: float


def layer_packages(template: Template) -> Path:
    """The layer's dependencies installed for this machine, as the layer holds them (cached)."""
    requirements = template.root / "layers" / "shop" / "requirements.txt"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    target = template.root / ".aws-sam" / f"bench-layer-{digest}"
    if not target.exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                str(target),
                "-r",
                str(requirements),
            ],
            check=True,
        )
    return target


def _median_seconds(body: str, env: dict[str, str]) -> float:
    samples = []
    for _ in range(RUNS):
        # -S: no site-packages, only what the layer ships (PYTHONPATH), like the Lambda runtime.
        output = subprocess.run(
            [sys.executable, "-S", "-c", _MEASURE.format(body=body)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        samples.append(float(output.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def run() -> tuple[float, list[ImportTime]]:
    template = Template()
    base_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))},
        **OFFLINE_ENVIRONMENT,
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "PYTHONPATH": os.pathsep.join(
            [str(template.root / "layers" / "shop"), str(layer_packages(template))]
        ),
    }
    baseline = _median_seconds("import boto3", base_env)
    results = []
    for name, function in sorted(template.functions.items()):
        physical = {resource: f"bench-{resource}" for resource in template.resources}
        environment = function_environment(template, function, physical) | base_env
        # What Lambda sets; the X-Ray SDK, for one, behaves differently inside Lambda.
        environment |= {
            "LAMBDA_TASK_ROOT": str(function.code_uri),
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        }
        environment.pop("POWERTOOLS_TRACE_DISABLED")  # import what Lambda imports: the X-Ray SDK too
        seconds = _median_seconds(_LOAD.format(path=str(function.module_path)), environment)
        results.append(ImportTime(name, seconds, seconds / baseline))
    return baseline, results


def table(baseline: float, results: list[ImportTime]) -> str:
    lines = [
        f"Baseline `import boto3`: {baseline * 1000:.0f} ms (median of {RUNS} fresh interpreters).",
        "",
        "| Function | Handler module import | Ratio to `import boto3` |",
        "|---|---:|---:|",
    ]
    lines += [f"| {r.function} | {r.seconds * 1000:.0f} ms | {r.ratio:.2f} |" for r in results]
    return "\n".join(lines)
