"""Reads ``template.yaml``: the one source of truth for functions, routes, tables, subscriptions.

Used by the local stack, the tests and the benchmarks, so none of them repeats the template.
Only the intrinsic functions the template uses are resolved: ``Ref``, ``Fn::GetAtt``, ``Fn::Sub``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from local import ROOT

TEMPLATE = ROOT / "template.yaml"


class _Loader(yaml.SafeLoader):
    pass


def _intrinsic(name: str) -> Any:
    def construct(loader: _Loader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if name == "Fn::GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    return construct


#: What ``Ref: AWS::NoValue`` resolves to: the property or list item is dropped.
NO_VALUE = object()

for _tag in (
    "Ref",
    "GetAtt",
    "Sub",
    "Join",
    "Select",
    "Split",
    "If",
    "Equals",
    "Not",
    "And",
    "Or",
    "Condition",
    "ImportValue",
):
    _Loader.add_constructor(f"!{_tag}", _intrinsic("Ref" if _tag == "Ref" else f"Fn::{_tag}"))


def load_yaml(path: Path) -> dict[str, Any]:
    with path.open() as stream:
        document: dict[str, Any] = yaml.load(stream, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    return document


@dataclass(frozen=True)
class HttpRoute:
    api: str
    method: str  # upper case, or ANY
    path: str  # /products/{productId}, or $default
    function: str
    authorizer: str | None = None  # the API's authorizer guarding the route; None: public
    scopes: tuple[str, ...] = ()  # AuthorizationScopes: the token must hold at least one

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)


@dataclass(frozen=True)
class JwtAuthorizerSpec:
    """A JWT authorizer of an HTTP API as the template declares it (``Auth.Authorizers``).

    ``issuer`` and ``audience`` are unresolved template values (``!Sub``/``!Ref``): the resources
    they name exist only once a stack has created them.
    """

    api: str
    name: str
    identity_source: str
    issuer: Any
    audience: tuple[Any, ...]
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class StreamSubscription:
    function: str
    name: str
    table: str  # logical id of the table whose stream is read
    properties: Mapping[str, Any]

    def setting(self, name: str, default: Any = None) -> Any:
        return self.properties.get(name, default)


@dataclass(frozen=True)
class QueueSubscription:
    """A function's ``Type: SQS`` event: an SQS event source mapping on ``queue`` (a logical id)."""

    function: str
    name: str
    queue: str
    properties: Mapping[str, Any]

    def setting(self, name: str, default: Any = None) -> Any:
        return self.properties.get(name, default)


@dataclass(frozen=True)
class Function:
    logical_id: str
    code_uri: Path
    handler: str  # module.attribute
    properties: Mapping[str, Any]
    environment: Mapping[str, Any] = field(default_factory=dict)

    @property
    def module_path(self) -> Path:
        return self.code_uri / (self.handler.rsplit(".", 1)[0].replace(".", "/") + ".py")

    @property
    def handler_attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]


class Template:
    def __init__(self, path: Path = TEMPLATE) -> None:
        self.path = path
        self.root = path.parent
        self.document = load_yaml(path)
        self.resources: dict[str, dict[str, Any]] = self.document["Resources"]
        self.globals: dict[str, Any] = self.document.get("Globals", {}).get("Function", {})
        self.parameters: dict[str, Any] = {
            name: spec.get("Default") for name, spec in self.document.get("Parameters", {}).items()
        }
        self.conditions: dict[str, Any] = self.document.get("Conditions", {})

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {name: r for name, r in self.resources.items() if r["Type"] == resource_type}

    @property
    def tables(self) -> dict[str, dict[str, Any]]:
        return {name: r["Properties"] for name, r in self.of_type("AWS::DynamoDB::Table").items()}

    @property
    def queues(self) -> list[str]:
        return list(self.of_type("AWS::SQS::Queue"))

    @property
    def http_apis(self) -> list[str]:
        return list(self.of_type("AWS::Serverless::HttpApi"))

    @property
    def functions(self) -> dict[str, Function]:
        functions = {}
        global_env = self.globals.get("Environment", {}).get("Variables", {})
        for name, resource in self.of_type("AWS::Serverless::Function").items():
            props = {**self.globals, **resource["Properties"]}
            env = {**global_env, **resource["Properties"].get("Environment", {}).get("Variables", {})}
            functions[name] = Function(name, self.root / props["CodeUri"], props["Handler"], props, env)
        return functions

    def layer_paths(self, function: Function) -> list[Path]:
        """Source folders of the function's layers (``ContentUri``), as Lambda mounts them."""
        return [
            self.root / self.resources[layer["Ref"]]["Properties"]["ContentUri"]
            for layer in function.properties.get("Layers", [])
            if isinstance(layer, dict) and layer.get("Ref") in self.resources
        ]

    def _events(self, event_type: str) -> list[tuple[str, str, dict[str, Any]]]:
        return [
            (function, event_name, event.get("Properties", {}))
            for function, resource in self.of_type("AWS::Serverless::Function").items()
            for event_name, event in resource["Properties"].get("Events", {}).items()
            if event["Type"] == event_type
        ]

    def http_api_auth(self, api: str) -> dict[str, Any]:
        return dict(self.resources[api].get("Properties", {}).get("Auth", {}))

    def jwt_authorizers(self, api: str) -> dict[str, JwtAuthorizerSpec]:
        """The API's authorizers (SAM ``Auth.Authorizers``). Only JWT authorizers are emulated: any
        other kind is refused here rather than leaving its routes unguarded."""
        specs = {}
        for name, spec in self.http_api_auth(api).get("Authorizers", {}).items():
            jwt = spec.get("JwtConfiguration")
            if jwt is None:
                raise ValueError(f"{api} authorizer {name}: only JWT authorizers are emulated locally")
            audience = jwt.get("audience", [])
            specs[name] = JwtAuthorizerSpec(
                api,
                name,
                spec.get("IdentitySource", "$request.header.Authorization"),
                jwt.get("issuer"),
                tuple(audience if isinstance(audience, list) else [audience]),
                tuple(spec.get("AuthorizationScopes", [])),
            )
        return specs

    def _route_auth(self, api: str, event: Mapping[str, Any]) -> tuple[str | None, tuple[str, ...]]:
        """The authorizer guarding a route and the scopes it asks for, as SAM sets them: the event's
        ``Auth.Authorizer`` (``NONE``: public), else the API's ``DefaultAuthorizer``; the event's
        ``AuthorizationScopes``, else the authorizer's own."""
        auth = self.http_api_auth(api)
        route_auth = event.get("Auth", {})
        name = route_auth.get("Authorizer", auth.get("DefaultAuthorizer"))
        if name is None or name == "NONE":
            return None, ()
        if name == "AWS_IAM" or name not in auth.get("Authorizers", {}):
            raise ValueError(f"{api}: the authorizer {name} is not emulated locally")
        scopes = route_auth.get("AuthorizationScopes") or auth["Authorizers"][name].get(
            "AuthorizationScopes", []
        )
        return name, tuple(scopes)

    @property
    def routes(self) -> list[HttpRoute]:
        routes = []
        for function, _, props in self._events("HttpApi"):
            api = props["ApiId"]["Ref"]
            authorizer, scopes = self._route_auth(api, props)
            if "Path" in props:
                method = props.get("Method", "ANY").upper()
                routes.append(HttpRoute(api, method, props["Path"], function, authorizer, scopes))
            else:
                routes.append(HttpRoute(api, "ANY", "$default", function, authorizer, scopes))
        return routes

    def routes_of(self, api: str) -> list[HttpRoute]:
        return [route for route in self.routes if route.api == api]

    @property
    def subscriptions(self) -> list[StreamSubscription]:
        subscriptions = []
        for function, name, props in self._events("DynamoDB"):
            table = props["Stream"]["Fn::GetAtt"][0]
            subscriptions.append(StreamSubscription(function, name, table, props))
        return subscriptions

    @property
    def queue_subscriptions(self) -> list[QueueSubscription]:
        return [
            QueueSubscription(function, name, props["Queue"]["Fn::GetAtt"][0], props)
            for function, name, props in self._events("SQS")
        ]

    def resolve(
        self, value: Any, physical: Mapping[str, str], attributes: Mapping[str, str] | None = None
    ) -> Any:
        """Resolve intrinsics with ``physical`` names for resources (parameters use their defaults).

        ``attributes`` maps ``"Logical.Attribute"`` to a value for ``Fn::GetAtt`` and ``${X.Y}``.
        """
        attributes = attributes or {}
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Fn::If":
                condition, when_true, when_false = arg
                chosen = when_true if self.condition(condition, physical) else when_false
                return self.resolve(chosen, physical, attributes)
            if key == "Ref":
                return self._ref(arg, physical)
            if key == "Fn::GetAtt":
                return attributes[".".join(arg)]
            if key == "Fn::Sub":
                return re.sub(
                    r"\$\{([^}]+)\}",
                    lambda m: str(
                        attributes[m.group(1)] if "." in m.group(1) else self._ref(m.group(1), physical)
                    ),
                    arg,
                )
        if isinstance(value, dict):
            resolved = {k: self.resolve(v, physical, attributes) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        if isinstance(value, list):
            return [v for v in (self.resolve(v, physical, attributes) for v in value) if v is not NO_VALUE]
        return value

    def condition(self, name: str, physical: Mapping[str, str]) -> bool:
        return self._evaluate(self.conditions[name], physical)

    def _evaluate(self, expression: Any, physical: Mapping[str, str]) -> bool:
        ((key, arg),) = expression.items()
        if key == "Fn::Equals":
            left, right = (self.resolve(a, physical) for a in arg)
            return bool(left == right)
        if key == "Fn::Not":
            return not self._evaluate(arg[0], physical)
        if key == "Fn::And":
            return all(self._evaluate(a, physical) for a in arg)
        if key == "Fn::Or":
            return any(self._evaluate(a, physical) for a in arg)
        if key == "Condition":
            return self.condition(arg, physical)
        raise ValueError(f"unsupported condition function {key}")

    def _ref(self, name: str, physical: Mapping[str, str]) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in physical:
            return physical[name]
        if name in self.parameters:
            return str(self.parameters[name])
        pseudo = {
            "AWS::Region": "us-east-1",
            "AWS::AccountId": "123456789012",
            "AWS::StackName": "shop-local",
        }
        if name in pseudo:
            return pseudo[name]
        raise KeyError(f"cannot resolve Ref {name}")


#: ``GenerateSecretString`` options that ``GetRandomPassword`` takes as well.
RANDOM_PASSWORD_OPTIONS = frozenset(
    {
        "PasswordLength",
        "ExcludeCharacters",
        "ExcludeNumbers",
        "ExcludePunctuation",
        "ExcludeUppercase",
        "ExcludeLowercase",
        "IncludeSpace",
        "RequireEachIncludedType",
    }
)


def random_password_options(properties: Mapping[str, Any]) -> dict[str, Any]:
    """``GetRandomPassword`` arguments for a template secret's ``GenerateSecretString``.

    Only generated plain-string secrets are emulated: a ``SecretString`` in the template would be a
    secret in the repository, and a JSON template (``SecretStringTemplate``) is not used here.
    """
    generate = properties.get("GenerateSecretString")
    if not isinstance(generate, Mapping) or set(generate) - RANDOM_PASSWORD_OPTIONS:
        raise ValueError(f"only GenerateSecretString with {sorted(RANDOM_PASSWORD_OPTIONS)} is emulated")
    return dict(generate)


def table_definition(name: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    """``CreateTable`` arguments for a template table (keys, indexes, stream) under ``name``."""
    definition: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": properties.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if "GlobalSecondaryIndexes" in properties:
        definition["GlobalSecondaryIndexes"] = [
            {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
            for i in properties["GlobalSecondaryIndexes"]
        ]
    stream = properties.get("StreamSpecification")
    if stream:
        definition["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": stream["StreamViewType"],
        }
    return definition
