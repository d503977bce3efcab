"""Fixtures of the infra tests: a fresh asyncio event loop per test.

Pulumi's mock runtime runs on the current event loop; other test modules may have closed or
cleared it (``asyncio.run`` does), and on Python >= 3.12 a missing loop is a DeprecationWarning.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        asyncio.set_event_loop(None)
        loop.close()
