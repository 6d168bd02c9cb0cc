"""The local stack is generic over the template, and Ctrl-C leaves nothing behind."""

from __future__ import annotations

import os
import signal
import textwrap
import time
from pathlib import Path

import boto3

from local.stack.client import call, eventually
from local.stack.process import ROOT, start

THROWAWAY_TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.13
    Timeout: 5
Resources:
  EchoApi:
    Type: AWS::Serverless::HttpApi
  Notes:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  Seen:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
  NotesDLQ:
    Type: AWS::SQS::Queue
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: echo
      Handler: app.handler
      Environment:
        Variables:
          SEEN_TABLE: !Ref Seen
      Events:
        Hello:
          Type: HttpApi
          Properties: {ApiId: !Ref EchoApi, Method: GET, Path: "/hello/{name}"}
        NotesStream:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Notes.StreamArn
            StartingPosition: TRIM_HORIZON
            BatchSize: 10
            FunctionResponseTypes: [ReportBatchItemFailures]
            MaximumRetryAttempts: 1
            DestinationConfig: {OnFailure: {Type: SQS, Destination: !GetAtt NotesDLQ.Arn}}
            FilterCriteria:
              Filters:
                - Pattern: '{"eventName": ["INSERT"]}'
"""

ECHO_HANDLER = """
import json, os
import boto3

def handler(event, context):
    if "Records" in event:
        client = boto3.client("dynamodb")
        for record in event["Records"]:
            client.put_item(TableName=os.environ["SEEN_TABLE"], Item=record["dynamodb"]["Keys"])
        return {"batchItemFailures": []}
    name = event["pathParameters"]["name"]
    body = {"hello": name, "function": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
            "seen": os.environ["SEEN_TABLE"]}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
"""


def test_a_new_function_in_the_template_is_served_without_code_changes(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(THROWAWAY_TEMPLATE)
    (tmp_path / "echo").mkdir()
    (tmp_path / "echo" / "app.py").write_text(textwrap.dedent(ECHO_HANDLER))
    stack = start(tmp_path / "template.yaml", ECHO_PORT="0")
    try:
        reply = call("GET", f"{stack.urls['Echo']}/hello/world")
        assert reply.status == 200, reply.body
        assert reply.json() == {"hello": "world", "function": "Echo", "seen": "Seen"}
        assert call("POST", f"{stack.urls['Echo']}/hello/world").status == 404  # no such route, no $default

        dynamodb = boto3.client("dynamodb", endpoint_url=stack.endpoint)
        dynamodb.put_item(TableName="Notes", Item={"id": {"S": "note-1"}})
        eventually(lambda: dynamodb.get_item(TableName="Seen", Key={"id": {"S": "note-1"}}).get("Item"))
    finally:
        assert stack.stop() == 0


def test_ctrl_c_stops_every_process() -> None:
    stack = start()
    try:
        # at least one worker is surely running (a cold first request on a loaded machine can take 30 s)
        call("GET", f"{stack.query}/products", timeout=120)
        children = stack.descendants()
    finally:
        assert stack.stop() == 0
    assert len(children) >= 2, "expected the moto endpoint and function workers"
    time.sleep(0.5)
    alive = [pid for pid in children if Path(f"/proc/{pid}").exists() and _not_zombie(pid)]
    assert alive == [], [Path(f"/proc/{p}/cmdline").read_text() for p in alive]
    assert any("stopped" in line for line in stack.output)


def _not_zombie(pid: int) -> bool:
    try:
        return " Z " not in Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False


def test_the_repository_root_is_where_make_run_starts() -> None:
    assert (ROOT / "template.yaml").exists()
    assert os.access(ROOT / ".ci" / "run", os.X_OK)


def test_ctrl_c_right_after_ready_leaves_no_worker_and_no_traceback() -> None:
    """The ready line comes before every function's first worker has imported its handler. Stopped
    then (as `stack.stop()` does, SIGINT to the stack alone), `make run` printed "stopped" while 14
    workers were still alive, and those printed 5-8 BrokenPipeError tracebacks when they finished
    starting (with a terminal's Ctrl-C, to the whole group, KeyboardInterrupt tracebacks too)."""
    stack = start()
    children = stack.descendants()
    assert stack.stop() == 0
    time.sleep(0.5)
    alive = [pid for pid in children if Path(f"/proc/{pid}").exists() and _not_zombie(pid)]
    time.sleep(3)  # what the workers still print arrives through the stack's inherited stdout
    output = "".join(stack.output)
    assert alive == [], [Path(f"/proc/{p}/cmdline").read_text() for p in alive]
    assert "Traceback" not in output, output[output.find("Traceback") :][:2000]


def test_a_terminals_ctrl_c_right_after_ready_leaves_no_worker_and_no_traceback() -> None:
    """A terminal's Ctrl-C is SIGINT to every process of the foreground group: a worker still
    starting Python died of it with a KeyboardInterrupt traceback. Workers have a process group of
    their own; the stack, alone signalled, stops them."""
    stack = start(own_group=True)
    children = stack.descendants()
    os.killpg(stack.process.pid, signal.SIGINT)
    assert stack.process.wait(timeout=60) == 0
    time.sleep(0.5)
    alive = [pid for pid in children if Path(f"/proc/{pid}").exists() and _not_zombie(pid)]
    time.sleep(3)  # what the workers still print arrives through the stack's inherited stdout
    output = "".join(stack.output)
    assert alive == [], [Path(f"/proc/{p}/cmdline").read_text() for p in alive]
    assert "Traceback" not in output, output[output.find("Traceback") :][:2000]
    assert output.rstrip().endswith("stopped"), output[-2000:]
