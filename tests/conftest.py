"""Shared test configuration. Fixtures live in ``tests/fixtures/`` (one module per service)."""

import pytest  # noqa: F401

# Each fixtures module is owned by the component it serves; register new ones here.
pytest_plugins = [
    m
    for m in ("tests.fixtures.emulator", "tests.fixtures.azurite", "tests.fixtures.project")
    if __import__("importlib.util").util.find_spec(m) is not None
]
