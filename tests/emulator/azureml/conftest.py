"""The Azure ML emulator's fixtures (tests/fixtures/azureml.py) for the tests in this folder."""

from tests.fixtures.azureml import azureml, azureml_pixels  # noqa: F401
