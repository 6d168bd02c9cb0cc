"""A Powertools ``Router`` that also records what it declares, so routes can be compared and listed."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

_PARAM = re.compile(r"<(\w+)>")


def template_path(rule: str) -> str:
    """``/products/<product_id>`` (Powertools) -> ``/products/{product_id}`` (API Gateway)."""
    return _PARAM.sub(r"{\1}", rule)


class ShopRouter(APIGatewayHttpRouter):
    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        #: ``(METHOD, /path/{param})`` for every declared route, in declaration order.
        self.declared: list[tuple[str, str]] = []
        #: The function serving each declared route.
        self.functions: dict[tuple[str, str], Callable[..., Any]] = {}

    def route(self, rule: str, method: Any, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        methods = (method,) if isinstance(method, str) else tuple(method)
        keys = [(m.upper(), template_path(rule)) for m in methods]
        self.declared.extend(keys)
        register = super().route(rule, method, *args, **kwargs)

        def record(func: Callable[..., Any]) -> Any:
            self.functions.update(dict.fromkeys(keys, func))
            return register(func)

        return record


class RouteTable:
    """Which methods a path accepts, from the routes routers declare (for 404 versus 405)."""

    def __init__(self, routes: Iterable[tuple[str, str]]) -> None:
        self._routes = [(method, _compile(path)) for method, path in routes]

    def allowed_methods(self, path: str) -> list[str]:
        return sorted({method for method, pattern in self._routes if pattern.fullmatch(path)})


def _compile(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{\w+\+?\})", path)
    regex = "".join(
        (".+" if part.endswith("+}") else "[^/]+") if part.startswith("{") else re.escape(part)
        for part in parts
    )
    return re.compile(regex)
