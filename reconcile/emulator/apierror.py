"""The service's error shape: ``{"error": {code, message, target?, innererror?}}`` + ``x-ms-error-code``.

:class:`ApiError` is raised anywhere in the emulator's request handling and turned
into exactly that response at one place (:mod:`reconcile.emulator.app`).
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer. ``code`` is what ``x-ms-error-code`` carries."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        target: str | None = None,
        inner_code: str | None = None,
        inner_message: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.inner_code = inner_code
        self.inner_message = inner_message
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        detail: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target:
            detail["target"] = self.target
        if self.inner_code:
            detail["innererror"] = {"code": self.inner_code, "message": self.inner_message or self.message}
        return {"error": detail}


def bad_request(message: str, *, inner_code: str, target: str | None = None) -> ApiError:
    """400 ``InvalidRequest`` with a specific inner code (the Image Analysis 4.0 pattern, DOC-ERR)."""
    return ApiError(400, "InvalidRequest", message, target=target, inner_code=inner_code)


def not_found(what: str, name: str, code: str) -> ApiError:
    return ApiError(404, code, f"A {what} with the name '{name}' was not found.", target=name)


def unauthorized() -> ApiError:
    # The APIM gateway shape: a numeric-string code (docs/service-api.md §2).
    return ApiError(
        401,
        "401",
        "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key "
        "for an active subscription and use a correct regional API endpoint for your resource.",
    )


def rate_limited(retry_after: int) -> ApiError:
    return ApiError(
        429,
        "429",
        f"Rate limit is exceeded. Try again in {retry_after} seconds.",
        headers={"Retry-After": str(retry_after)},
    )
