"""Test-wide safety and fixtures. Nothing here ever reaches AWS: moto only, fake credentials."""

from __future__ import annotations

import os

# Before anything imports boto3: fake credentials, a region, no real endpoints.
for _name in list(os.environ):
    if _name.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE")):
        del os.environ[_name]
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_SERVICE_NAME": "tests",
    }
)

import pytest  # noqa: E402

from local.aws import calls  # noqa: E402
from local.aws.functions import LambdaContext  # noqa: E402
from local.aws.template import Template  # noqa: E402

calls.install()  # every AWS call made while a function runs in this process is recorded


@pytest.fixture(autouse=True)
def _iam_coverage():  # type: ignore[no-untyped-def]
    """Every AWS call a function made during the test must be allowed by the function's role in
    the SAM-translated template (moto does not enforce IAM). Checked at the test's teardown, in
    the process that ran it, so it holds with any number of xdist workers."""
    with calls.collecting() as recorded:
        yield
    if recorded.calls():
        from tests.support.iam import assert_allowed  # noqa: PLC0415 - samtranslator only when needed

        assert_allowed(recorded.calls())


@pytest.fixture(scope="session")
def template() -> Template:
    return Template()


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext("TestFunction")


@pytest.fixture
def stack(template: Template):  # type: ignore[no-untyped-def]
    """Every table, queue, route and subscription of template.yaml, in process, on mock_aws."""
    from local.stack.inprocess import in_process_stack  # noqa: PLC0415

    with in_process_stack(template) as running:
        yield running


@pytest.fixture(scope="session")
def moto_endpoint():  # type: ignore[no-untyped-def]
    """A moto server (requests serialised, as DynamoDB makes each atomic) in a subprocess."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    process = subprocess.Popen(
        [sys.executable, "-m", "local.aws.endpoint", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("ready"), line
    yield f"http://127.0.0.1:{line.split()[1]}"
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:  # a loaded machine: the server may be mid-request
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def endpoint_dynamodb(moto_endpoint: str):  # type: ignore[no-untyped-def]
    import boto3  # noqa: PLC0415

    return boto3.client("dynamodb", endpoint_url=moto_endpoint)


@pytest.fixture
def server_stack(template: Template, moto_endpoint: str):  # type: ignore[no-untyped-def]
    """Like ``stack``, but against the moto server, whose requests are atomic like DynamoDB's:
    for tests where handlers run concurrently. Tables get a unique prefix per test."""
    import uuid  # noqa: PLC0415

    from local.aws.functions import OFFLINE_ENVIRONMENT  # noqa: PLC0415
    from local.stack.invokers import InProcessInvoker  # noqa: PLC0415
    from local.stack.stack import Clients, Stack  # noqa: PLC0415
    from shop import runtime  # noqa: PLC0415

    saved = dict(os.environ)
    os.environ.update(OFFLINE_ENVIRONMENT)
    clients = Clients.connect(moto_endpoint)
    running = Stack(template, clients, prefix=f"t{uuid.uuid4().hex[:8]}-", retry_delay=0)
    running.create_resources()
    os.environ.update(running.shared_environment())
    os.environ.update({"AWS_ENDPOINT_URL": moto_endpoint, "POWERTOOLS_LOG_LEVEL": "WARNING"})
    runtime.reset()
    running.start_mappings(InProcessInvoker(template))
    try:
        yield running
    finally:
        running.delivery.close()
        runtime.reset()
        os.environ.clear()
        os.environ.update(saved)
