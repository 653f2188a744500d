"""The scripted four-API model server and the guard proxy in front of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.model_apis import ModelApis, guarding
from support.servers import serving


@pytest.fixture(scope="session")
def model_apis() -> Iterator[tuple[ModelApis, str]]:
    scripted = ModelApis()
    with serving(scripted.app) as url:
        yield scripted, url


@pytest.fixture(scope="session")
def guarded(model_apis: tuple[ModelApis, str]) -> Iterator[str]:
    with guarding(model_apis[1]) as url:
        yield url


@pytest.fixture(scope="session")
def refusing(model_apis: tuple[ModelApis, str]) -> Iterator[str]:
    with guarding(model_apis[1], on_block="error") as url:
        yield url
