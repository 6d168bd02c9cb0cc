"""A Powertools ``Router`` that also records what it declares, so routes can be compared and listed,
and may carry a guard: who may call its routes at all, asked before any of the request is read."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from shop.application import Caller

_PARAM = re.compile(r"<(\w+)>")

#: Refuses a caller (raises ``shop.errors.Forbidden``) who may not call any route of a router.
Guard = Callable[[Caller], None]


def template_path(rule: str) -> str:
    """``/products/<product_id>`` (Powertools) -> ``/products/{product_id}`` (API Gateway)."""
    return _PARAM.sub(r"{\1}", rule)


class ShopRouter(APIGatewayHttpRouter):
    """``guard``, if given, is asked about the caller of every route of this router before the
    request's path parameters, headers or body are validated or read (``shop.http.handler``), so a
    caller it refuses gets the same answer whatever the input."""

    def __init__(self, guard: Guard | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        #: ``(METHOD, /path/{param})`` for every declared route, in declaration order.
        self.declared: list[tuple[str, str]] = []
        self.guard = guard
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


class RouteGuards:
    """The guards of the routes guarded routers declare, looked up by a request's method and path."""

    def __init__(self, routers: Iterable[ShopRouter]) -> None:
        self._guarded = [
            (method, _compile(path), router.guard)
            for router in routers
            if router.guard is not None
            for method, path in router.declared
        ]

    def guard_for(self, method: str, path: str) -> Guard | None:
        """The guard of a guarded route the request matches, if any (guards only ever refuse, so a
        path that also matches an unguarded route is guarded too)."""
        method = method.upper()
        return next((g for m, pattern, g in self._guarded if m == method and pattern.fullmatch(path)), None)


def _compile(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{\w+\+?\})", path)
    regex = "".join(
        (".+" if part.endswith("+}") else "[^/]+") if part.startswith("{") else re.escape(part)
        for part in parts
    )
    return re.compile(regex)
