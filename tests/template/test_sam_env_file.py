"""local/sam-env.json (for `sam local`) says what the template and the local stack say."""

from __future__ import annotations

import json

from local.envfile import OUTPUT, render, sam_environment
from local.template import Template


def test_the_committed_env_file_is_current(template: Template) -> None:
    assert OUTPUT.read_text() == render(template), "run: .venv/bin/python -m local.envfile"


def test_every_function_points_at_the_local_endpoint(template: Template) -> None:
    environment = sam_environment(template)
    assert set(environment) == set(template.functions)
    for variables in environment.values():
        assert variables["AWS_ENDPOINT_URL"].startswith("http://host.docker.internal:")
        for name, value in variables.items():
            assert "{{resolve" not in value, name
    assert environment["CatalogQueries"]["PRODUCTS_VIEW_TABLE"] == "ProductsView"
    json.loads(OUTPUT.read_text())


def test_sam_only_sees_declared_variables_so_the_endpoint_is_a_template_parameter(template: Template) -> None:
    assert template.parameters["EndpointUrl"] == ""
    assert template.globals["Environment"]["Variables"]["AWS_ENDPOINT_URL"] == {
        "Fn::If": ["UseEndpointUrl", {"Ref": "EndpointUrl"}, {"Ref": "AWS::NoValue"}]
    }
