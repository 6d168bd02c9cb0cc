"""Cached, lazily built process-wide objects: settings, wired services (and, through ``shop.ddb``,
the DynamoDB client).

Nothing is built at import time (cold start); everything on first use, once per execution
environment. ``reset()`` forgets them all, for tests that change the environment. Nothing here
knows AWS: every service imports this module, and none of them may reach boto3 except through the
adapters its wiring assembles.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from typing import Self

from pydantic import BaseModel, ConfigDict

_caches: list[Callable[[], object]] = []


def cached[T](factory: Callable[[], T]) -> Callable[[], T]:
    """``functools.cache`` for zero-argument factories, registered for ``reset()``."""
    wrapped = cache(factory)
    _caches.append(wrapped.cache_clear)
    return wrapped


def reset() -> None:
    for clear in _caches:
        clear()


class Settings(BaseModel):
    """Base for a function's typed settings; fields alias their environment variable names."""

    #: ``defer_build``: a function's wiring defines every function's settings but reads one or two;
    #: each is built when first read (tests/unit/test_models_build.py builds them all).
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    @classmethod
    def from_env(cls) -> Self:
        return cls.model_validate(dict(os.environ))
