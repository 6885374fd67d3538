"""Service errors, each with a stable code and the HTTP status it maps to."""
from __future__ import annotations


class ServiceError(Exception):
    """Base of every error a service raises on purpose."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields


class Unauthorized(ServiceError):
    """No or bad credentials."""

    status = 401
    code = "unauthorized"


class Forbidden(ServiceError):
    """The caller may see the thing but not do this to it."""

    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    """Unknown, or outside the caller's projects."""

    status = 404
    code = "not_found"


class Conflict(ServiceError):
    """The request conflicts with the current state (stale version, task no longer ready …)."""

    status = 409
    code = "conflict"


class InvalidInput(ServiceError):
    """The input failed validation; fields maps each field to its problems."""

    status = 422
    code = "invalid_input"

    def __init__(self, message: str, fields: dict | None = None, **kwargs):
        super().__init__(message, fields=fields or {}, **kwargs)


class PayloadTooLarge(ServiceError):
    """An upload above the configured limit."""

    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ServiceError):
    """An upload or request body of a type that is not accepted."""

    status = 415
    code = "unsupported_media_type"


class TooManyRequests(ServiceError):
    """Too many failed attempts: refused for a while (retry_after seconds), whatever the credentials."""

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, retry_after: int, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = max(1, int(retry_after))
