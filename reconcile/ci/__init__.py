"""Helpers the GitHub Actions workflows call (``python -m reconcile.ci.<module>``)."""
