"""Every pydantic model of the layer builds.

Settings, commands, events, consumers' messages and the on-failure record are ``defer_build``
models (cold start: a function imports many and uses a few; docs/performance.md): each builds its
validator when first used, so a model that cannot build would fail only then, inside a request or
a stream batch. Here every model of every module of ``shop`` is built now.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from pydantic import BaseModel

import shop


def shop_models() -> list[type[BaseModel]]:
    models: dict[str, type[BaseModel]] = {}
    for module in pkgutil.walk_packages(shop.__path__, "shop."):
        for value in vars(importlib.import_module(module.name)).values():
            is_model = isinstance(value, type) and issubclass(value, BaseModel)
            if is_model and value.__module__.startswith("shop."):
                models[f"{value.__module__}.{value.__qualname__}"] = value
    return [models[name] for name in sorted(models)]


MODELS = shop_models()


def test_the_deferred_models_are_found() -> None:
    names = {model.__qualname__ for model in MODELS}
    assert {"Settings", "Command", "DomainEvent", "OnFailureRecord", "CatalogCommandSettings"} <= names
    assert len(MODELS) > 50


@pytest.mark.parametrize("model", MODELS, ids=lambda model: f"{model.__module__}.{model.__qualname__}")
def test_every_model_builds(model: type[BaseModel]) -> None:
    model.model_rebuild(force=True)
    assert model.__pydantic_complete__
    assert type(model.__pydantic_validator__).__name__ == "SchemaValidator"
