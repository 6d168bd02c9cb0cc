"""The HTTP edge shared by every API function: routers, problem responses, cursors, handlers."""

from shop.http.handler import http_handler
from shop.http.router import ShopRouter

__all__ = ["ShopRouter", "http_handler"]
