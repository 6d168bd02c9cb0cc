"""The local Lambda endpoint speaks the Lambda API (botocore's ``lambda`` model, REST-JSON): Invoke
(RequestResponse, Event, DryRun) and Put/Get/DeleteFunctionConcurrency, with Lambda's errors."""

from __future__ import annotations

import base64
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from local.aws.apigw import HttpRequest, HttpResponse
from local.aws.esm import FunctionError
from local.aws.template import Template
from local.stack.concurrency import ReservedConcurrency, ThrottlingInvoker
from local.stack.control import LocalControl
from local.stack.lambda_api import LambdaApi
from local.stack.run import Runner, Settings, print_ready
from local.stack.server import ApiServer


class Functions:
    """The invoker behind the endpoint: ``Fn`` echoes its event, ``Broken`` raises."""

    names = ("Fn", "Broken")

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.invoked = threading.Event()

    def invoke(self, function: str, event: Any) -> Any:
        self.events.append((function, event))
        self.invoked.set()
        if function == "Broken":
            raise FunctionError("ValueError: no such thing")
        return {"echo": event}


class Endpoint:
    def __init__(self) -> None:
        self.functions = Functions()
        self.concurrency = ReservedConcurrency()
        self.api = LambdaApi(
            Functions.names, ThrottlingInvoker(self.functions, self.concurrency), self.concurrency
        )
        self.server = ApiServer("Lambda", ("127.0.0.1", 0), self.api.handle, lambda line: None)
        self.url = f"http://127.0.0.1:{self.server.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.client = boto3.client(
            "lambda",
            endpoint_url=self.url,
            region_name="us-east-1",
            config=Config(retries={"mode": "standard", "max_attempts": 1}),
        )

    def raw(
        self, method: str, path: str, body: bytes = b"", **headers: str
    ) -> tuple[int, dict[str, str], Any]:
        request = urllib.request.Request(self.url + path, data=body or None, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers.items()), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers.items()), json.loads(error.read())

    @staticmethod
    def unused(request: HttpRequest) -> tuple[HttpResponse, str]:
        raise AssertionError("not served")

    def close(self) -> None:
        self.api.close()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    running = Endpoint()
    yield running
    running.close()


def error_of(raised: pytest.ExceptionInfo[Any]) -> tuple[str, int]:
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_put_get_and_delete_function_concurrency(endpoint: Endpoint) -> None:
    client = endpoint.client
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName="Fn")

    put = client.put_function_concurrency(FunctionName="Fn", ReservedConcurrentExecutions=0)
    assert (put["ReservedConcurrentExecutions"], put["ResponseMetadata"]["HTTPStatusCode"]) == (0, 200)
    assert client.get_function_concurrency(FunctionName="Fn")["ReservedConcurrentExecutions"] == 0
    assert endpoint.concurrency.get("Fn") == 0

    deleted = client.delete_function_concurrency(FunctionName="Fn")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName="Fn")
    assert endpoint.concurrency.get("Fn") is None


def test_invoke_runs_the_function_with_the_payload_and_answers_its_result(endpoint: Endpoint) -> None:
    answer = endpoint.client.invoke(FunctionName="Fn", Payload=json.dumps({"a": [1, 2]}))

    assert (answer["StatusCode"], answer["ExecutedVersion"]) == (200, "$LATEST")
    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {"echo": {"a": [1, 2]}}
    assert endpoint.functions.events == [("Fn", {"a": [1, 2]})]


def test_invoke_without_a_payload_passes_an_empty_object(endpoint: Endpoint) -> None:
    endpoint.client.invoke(FunctionName="Fn")
    assert endpoint.functions.events == [("Fn", {})]


def test_a_function_error_is_a_200_naming_the_error(endpoint: Endpoint) -> None:
    answer = endpoint.client.invoke(FunctionName="Broken", Payload=b"{}")

    assert (answer["StatusCode"], answer["FunctionError"]) == (200, "Unhandled")
    error = {"errorType": "ValueError", "errorMessage": "no such thing"}
    assert json.loads(answer["Payload"].read()) == error


def test_an_event_invocation_is_accepted_and_runs_in_the_background(endpoint: Endpoint) -> None:
    answer = endpoint.client.invoke(FunctionName="Fn", InvocationType="Event", Payload=b'{"n": 1}')

    assert answer["StatusCode"] == 202
    assert answer["Payload"].read() == b""
    assert endpoint.functions.invoked.wait(10)
    assert endpoint.functions.events == [("Fn", {"n": 1})]


def test_a_throttled_event_invocation_runs_once_the_limit_is_removed(endpoint: Endpoint) -> None:
    """Lambda keeps a throttled asynchronous event and tries it again (for up to 6 hours)."""
    endpoint.client.put_function_concurrency(FunctionName="Fn", ReservedConcurrentExecutions=0)
    answer = endpoint.client.invoke(FunctionName="Fn", InvocationType="Event", Payload=b"{}")
    assert answer["StatusCode"] == 202
    assert not endpoint.functions.invoked.is_set()

    endpoint.client.delete_function_concurrency(FunctionName="Fn")
    assert endpoint.functions.invoked.wait(10)


def test_a_dry_run_checks_the_function_and_runs_nothing(endpoint: Endpoint) -> None:
    answer = endpoint.client.invoke(FunctionName="Fn", InvocationType="DryRun")
    assert answer["StatusCode"] == 204
    assert endpoint.functions.events == []


def test_a_throttled_invoke_is_too_many_requests_with_the_reason_and_retry_after(endpoint: Endpoint) -> None:
    client = endpoint.client
    client.put_function_concurrency(FunctionName="Fn", ReservedConcurrentExecutions=0)

    with pytest.raises(client.exceptions.TooManyRequestsException) as throttled:
        client.invoke(FunctionName="Fn", Payload=b"{}")
    assert error_of(throttled) == ("TooManyRequestsException", 429)
    response = throttled.value.response
    assert response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert int(response["retryAfterSeconds"]) >= 1
    assert endpoint.functions.events == []


def test_an_unknown_function_is_resource_not_found(endpoint: Endpoint) -> None:
    client = endpoint.client
    for call in (
        lambda: client.invoke(FunctionName="Nope", Payload=b"{}"),
        lambda: client.put_function_concurrency(FunctionName="Nope", ReservedConcurrentExecutions=1),
        lambda: client.get_function_concurrency(FunctionName="Nope"),
        lambda: client.delete_function_concurrency(FunctionName="Nope"),
        lambda: client.invoke(FunctionName="Fn", Qualifier="7", Payload=b"{}"),  # no versions locally
    ):
        with pytest.raises(client.exceptions.ResourceNotFoundException) as missing:
            call()
        assert error_of(missing) == ("ResourceNotFoundException", 404)
        assert "Function not found: arn:aws:lambda:us-east-1:123456789012:function:" in str(missing.value)


@pytest.mark.parametrize(
    "name",
    [
        "Fn",
        "Fn:$LATEST",
        "123456789012:function:Fn",
        "arn:aws:lambda:us-east-1:123456789012:function:Fn",
        "arn:aws:lambda:us-east-1:123456789012:function:Fn:$LATEST",
    ],
)
def test_a_function_is_named_by_its_logical_id_or_an_arn_of_it(endpoint: Endpoint, name: str) -> None:
    assert endpoint.client.invoke(FunctionName=name, Payload=b"{}")["StatusCode"] == 200
    assert endpoint.functions.events == [("Fn", {})]


def test_bad_input_is_a_400_of_the_type_lambda_answers(endpoint: Endpoint) -> None:
    client = endpoint.client
    with pytest.raises(client.exceptions.InvalidRequestContentException) as unparsed:
        client.invoke(FunctionName="Fn", Payload=b"{not json")
    assert error_of(unparsed) == ("InvalidRequestContentException", 400)

    with pytest.raises(client.exceptions.InvalidParameterValueException) as qualified:
        client.put_function_concurrency(FunctionName="Fn:$LATEST", ReservedConcurrentExecutions=1)
    assert error_of(qualified) == ("InvalidParameterValueException", 400)

    with pytest.raises(client.exceptions.InvalidParameterValueException) as too_many:
        client.put_function_concurrency(FunctionName="Fn", ReservedConcurrentExecutions=901)
    assert "UnreservedConcurrentExecution" in str(too_many.value)
    assert endpoint.concurrency.get("Fn") is None

    path = "/2017-10-31/functions/Fn/concurrency"
    for body in (b'{"ReservedConcurrentExecutions": -1}', b'{"ReservedConcurrentExecutions": "1"}', b"{}"):
        status, headers, answer = endpoint.raw("PUT", path, body)
        assert (status, headers["x-amzn-ErrorType"]) == (400, "InvalidParameterValueException"), body
        assert answer["message"]
    status, headers, _ = endpoint.raw("PUT", path, b"[")
    assert (status, headers["x-amzn-ErrorType"]) == (400, "InvalidRequestContentException")
    status, headers, _ = endpoint.raw(
        "POST", "/2015-03-31/functions/Fn/invocations", b"{}", **{"X-Amz-Invocation-Type": "Later"}
    )
    assert (status, headers["x-amzn-ErrorType"]) == (400, "InvalidParameterValueException")
    status, headers, _ = endpoint.raw("POST", "/2015-03-31/functions/a%20b/invocations", b"{}")
    assert (status, headers["x-amzn-ErrorType"]) == (400, "InvalidParameterValueException")
    assert endpoint.functions.events == []


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,  # nested too deep for the JSON decoder (RecursionError)
        b'{"ReservedConcurrentExecutions": ' + b"9" * 5000 + b"}",  # over Python's int digits (ValueError)
        b"1" * 5000,
    ],
    ids=["nested-too-deep", "huge-integer-in-a-document", "huge-integer"],
)
def test_json_the_decoder_cannot_take_is_invalid_request_content_not_a_dropped_connection(
    endpoint: Endpoint, body: bytes
) -> None:
    """Found by break-it (issue 12): these bodies raised out of the handler and the server closed the
    connection without an answer."""
    for method, path in (
        ("PUT", "/2017-10-31/functions/Fn/concurrency"),
        ("POST", "/2015-03-31/functions/Fn/invocations"),
    ):
        status, headers, answer = endpoint.raw(method, path, body)
        assert (status, headers["x-amzn-ErrorType"]) == (400, "InvalidRequestContentException"), method
        assert answer["message"].startswith("Could not parse request body into json")
    assert endpoint.functions.events == []
    assert endpoint.concurrency.get("Fn") is None


def test_an_operation_the_endpoint_does_not_serve_is_named_so(endpoint: Endpoint) -> None:
    status, headers, answer = endpoint.raw("GET", "/2015-03-31/functions/")
    assert (status, headers["x-amzn-ErrorType"]) == (404, "UnknownOperationException")
    assert "Invoke" in answer["message"]


def test_log_type_tail_answers_an_empty_log(endpoint: Endpoint) -> None:
    """The function's log lines go to the stack's output, not back to the caller."""
    answer = endpoint.client.invoke(FunctionName="Fn", LogType="Tail", Payload=b"{}")
    assert base64.b64decode(answer["LogResult"]) == b""


def test_lambda_port_chooses_the_port_and_the_ready_message_names_the_endpoint(
    template: Template, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LAMBDA_PORT", raising=False)
    assert Settings.from_env(template).lambda_port == 3002
    monkeypatch.setenv("LAMBDA_PORT", "3999")
    assert Settings.from_env(template).lambda_port == 3999

    local = Runner(template, Settings())
    local.endpoint_url = "http://127.0.0.1:4566"
    local.lambda_server = ApiServer("Lambda", ("127.0.0.1", 0), Endpoint.unused, lambda line: None)
    try:
        print_ready(local, 0)
    finally:
        local.lambda_server.server_close()
    lines = capsys.readouterr().out.splitlines()
    assert f"  Lambda endpoint: http://127.0.0.1:{local.lambda_server.port}" in lines


def test_local_control_throttles_through_the_api_and_puts_the_limit_back_when_the_body_fails(
    endpoint: Endpoint,
) -> None:
    control = LocalControl(lambda_endpoint=endpoint.url)
    seen: list[int | None] = []

    def failing_test() -> None:
        with control.throttled("Fn", "Broken"):
            seen.extend([control.reserved("Fn"), control.reserved("Broken")])
            raise RuntimeError("the test failed")

    with pytest.raises(RuntimeError, match="the test failed"):
        failing_test()
    assert seen == [0, 0]
    assert endpoint.concurrency.limits() == {}

    control.throttle("Fn", 2)
    assert endpoint.concurrency.get("Fn") == 2
    assert control.invoke("Fn", {"a": 1}) == {"echo": {"a": 1}}
    with pytest.raises(RuntimeError, match="Broken failed"):
        control.invoke("Broken")
    control.restore()
    assert endpoint.concurrency.limits() == {}
