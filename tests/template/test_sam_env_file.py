"""The `sam local` path: local/sam-env.json (the --env-vars file) says what the template and the local
stack say, SAM lets it set every variable it carries, and samconfig.toml uses it."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from local import ROOT
from local.aws.functions import function_environment
from local.aws.template import Template
from local.demo import envfile
from local.demo.envfile import OUTPUT, container_endpoint, render, sam_environment
from local.stack.run import Runner, Settings, print_ready


def test_the_committed_env_file_is_current(template: Template) -> None:
    assert OUTPUT.read_text() == render(template), "run: .venv/bin/python -m local.demo.envfile"


def test_every_function_points_at_the_local_endpoint(template: Template) -> None:
    environment = sam_environment(template)
    assert set(environment) == set(template.functions)
    for variables in environment.values():
        assert variables["AWS_ENDPOINT_URL"] == "http://host.docker.internal:4566"
        for name, value in variables.items():
            assert "{{resolve" not in value, name
    assert environment["CatalogQueries"]["PRODUCTS_VIEW_TABLE"] == "ProductsView"
    json.loads(OUTPUT.read_text())


def test_the_endpoint_is_declared_for_sam_and_absent_in_aws(template: Template) -> None:
    """SAM passes a function only the variables its template declares (an --env-vars value for any
    other is dropped without a word), so the template declares AWS_ENDPOINT_URL, with no value: in
    AWS, and in the local stack, which sets its own, the variable does not exist."""
    assert template.globals["Environment"]["Variables"]["AWS_ENDPOINT_URL"] == {"Ref": "AWS::NoValue"}
    assert "EndpointUrl" not in template.parameters  # SAM never resolved it (Fn::If with NoValue)
    physical = {logical: logical for logical in template.resources}
    for function in template.functions.values():
        assert "AWS_ENDPOINT_URL" not in function_environment(template, function, physical)


def test_sam_applies_every_variable_of_the_env_file(template: Template) -> None:
    """What SAM CLI itself makes of the template and the committed file: each variable the file
    carries is declared for its function, so the function gets the file's value."""
    from samcli.lib.providers.sam_function_provider import SamFunctionProvider  # noqa: PLC0415
    from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider  # noqa: PLC0415
    from samcli.local.lambdafn.env_vars import EnvironmentVariables  # noqa: PLC0415

    stacks, _ = SamLocalStackProvider.get_stacks(str(template.path), parameter_overrides={})
    provider = SamFunctionProvider(stacks)
    overrides = json.loads(OUTPUT.read_text())
    for name, variables in overrides.items():
        declared = provider.get(name).environment["Variables"]  # type: ignore[union-attr]
        assert set(variables) <= set(declared), name
        resolved = EnvironmentVariables(name, variables=declared, override_values=variables).resolve()
        assert {key: resolved[key] for key in variables} == variables


def test_samconfig_makes_sam_local_use_the_file_and_reach_the_host(template: Template) -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())["default"]
    for command in ("local_invoke", "local_start_api"):
        parameters = config[command]["parameters"]
        assert ROOT / parameters["env_vars"] == OUTPUT
        assert parameters["add_host"] == ["host.docker.internal:host-gateway"]
    # EAGER would start a container per function (14) before start-api listens: ~100 s of silence.
    assert config["local_start_api"]["parameters"]["warm_containers"] == "LAZY"


@pytest.mark.parametrize(
    ("bound", "seen_from_a_container"),
    [
        ("0.0.0.0", "http://host.docker.internal:4666"),
        ("", "http://host.docker.internal:4666"),
        ("127.0.0.1", None),
        ("localhost", None),
        ("192.168.1.20", "http://192.168.1.20:4666"),
    ],
)
def test_the_endpoint_as_containers_see_it(bound: str, seen_from_a_container: str | None) -> None:
    assert container_endpoint(bound, 4666) == seen_from_a_container


def test_the_file_for_another_port(
    template: Template, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    envfile.main(["--port", "4666", str(tmp_path / "sam-env.json")])
    written = json.loads((tmp_path / "sam-env.json").read_text())
    assert written == sam_environment(template, "http://host.docker.internal:4666")
    assert "AWS_ENDPOINT_URL=http://host.docker.internal:4666" in capsys.readouterr().out


def test_the_ready_message_says_what_containers_use(
    template: Template, capsys: pytest.CaptureFixture[str]
) -> None:
    local = Runner(template, Settings(moto_host="0.0.0.0", moto_port=4666))
    local.endpoint_url = "http://127.0.0.1:4666"
    local.container_endpoint = container_endpoint("0.0.0.0", 4666)
    print_ready(local, 0, envfile.RUNNING_OUTPUT)
    out = capsys.readouterr().out
    assert "AWS endpoint:  http://127.0.0.1:4666" in out
    assert (
        "In containers: http://host.docker.internal:4666  (sam local: --env-vars .local/sam-env.json)" in out
    )


def test_the_ready_message_of_a_loopback_endpoint_names_no_container_endpoint(
    template: Template, capsys: pytest.CaptureFixture[str]
) -> None:
    local = Runner(template, Settings())
    local.endpoint_url = "http://127.0.0.1:4566"
    print_ready(local, 0)
    assert "containers" not in capsys.readouterr().out
