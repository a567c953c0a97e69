"""PostHog's error bodies (drf-exceptions-hog): `{type, code, detail, attr}` and the status that goes with them."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer, raised anywhere in a handler and rendered once by the API."""

    def __init__(
        self,
        status: int,
        type_: str,
        code: str,
        detail: str,
        attr: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.type = type_
        self.code = code
        self.detail = detail
        self.attr = attr
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body PostHog sends."""
        return {"type": self.type, "code": self.code, "detail": self.detail, "attr": self.attr}


def not_found(detail: str = "Not found.") -> ApiError:
    """404, as DRF's NotFound."""
    return ApiError(404, "invalid_request", "not_found", detail)


def project_not_found() -> ApiError:
    """404 for an unknown or malformed project id in the URL."""
    return not_found("Project not found.")


def invalid(detail: str, attr: str | None = None, code: str = "invalid_input") -> ApiError:
    """400, as a DRF ValidationError (`invalid` is reported as `invalid_input`)."""
    return ApiError(400, "validation_error", code, detail, attr)


def parse_error(detail: str) -> ApiError:
    """400, as DRF's ParseError (a body that cannot be read)."""
    return ApiError(400, "invalid_request", "parse_error", detail)


def denied(detail: str) -> ApiError:
    """403, as DRF's PermissionDenied."""
    return ApiError(403, "authentication_error", "permission_denied", detail)


def unauthenticated(source: str | None) -> ApiError:
    """401: no credentials came with the request (None), or a personal API key PostHog does not know was found
    in `source`."""
    code, detail = ("not_authenticated", "Authentication credentials were not provided.")
    if source is not None:
        code, detail = "authentication_failed", f"Personal API key found in request {source} is invalid."
    return ApiError(401, "authentication_error", code, detail, headers={"WWW-Authenticate": "Bearer"})


def method_not_allowed(method: str) -> ApiError:
    """405 from DRF's MethodNotAllowed (action routes); `insights/{id}/` DELETE answers with no body instead."""
    return ApiError(405, "invalid_request", "method_not_allowed", f'Method "{method}" not allowed.')


def throttled(wait: int | None) -> ApiError:
    """429 as DRF's Throttled: with a wait, its wording and Retry-After in whole seconds; without, neither."""
    if wait is None:
        return ApiError(429, "throttled_error", "throttled", "Request was throttled.")
    detail = f"Request was throttled. Expected available in {wait} second{'' if wait == 1 else 's'}."
    return ApiError(429, "throttled_error", "throttled", detail, headers={"Retry-After": str(wait)})


def server_error() -> ApiError:
    """500 as PostHog answers an unhandled exception."""
    return ApiError(500, "server_error", "error", "A server error occurred.")
