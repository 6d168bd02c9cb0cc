"""The HTTP edge shared by every API function: routers, problem responses, cursors, handlers.

``http_handler`` and ``ShopRouter`` are imported on first access: a stream function that imports one
module of the edge (``shop.http.consistency``'s codec, through its service's wiring) must not load
the HTTP resolver with it (cold start, docs/performance.md).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shop.http.handler import http_handler
    from shop.http.router import ShopRouter

__all__ = ["ShopRouter", "http_handler"]

_LAZY = {"http_handler": "shop.http.handler", "ShopRouter": "shop.http.router"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
