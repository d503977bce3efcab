"""The Vision emulator's admin surface under ``/_emulator`` (not part of the emulated API), for
out-of-process use: the routes of :mod:`reconcile.emulator.shared.admin` (health, clock, request
log, faults), nothing more, with the service's error shape (``InvalidSeconds``, ``InvalidFaults``).
"""

from __future__ import annotations

from starlette.applications import Starlette

from reconcile.emulator.apierror import ApiError, bad_request
from reconcile.emulator.service import iso
from reconcile.emulator.shared.admin import AdminControls, AdminInput, build_admin_app


def _invalid(message: str, which: AdminInput) -> ApiError:
    if which == "seconds":
        return bad_request(message, inner_code="InvalidSeconds", target="seconds")
    return bad_request(message, inner_code="InvalidFaults")


def build_admin(server: AdminControls) -> Starlette:
    """The shared admin routes, with the service's error shape and time format."""
    return build_admin_app(server, error_type=ApiError, invalid=_invalid, iso=iso, health={"status": "ok"})
