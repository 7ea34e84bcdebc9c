"""Errors as JSON: every failure becomes ``{"error": "<one line>"}`` with a fitting status, never a traceback.

400 bad input (semsearch's InputError, a malformed body or parameter: one line naming the field), 401 and
403 writes not allowed, 404 an unknown document or path, 413 a body over the limit, 503 an index that cannot
be read or a request over its time budget, 500 anything else (the traceback goes to the server's log only).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from semsearch.errors import (
    BackendError,
    IndexChangedError,
    IndexCorruptError,
    IndexFormatError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexWriteError,
    InputError,
    SemsearchError,
    UnknownDocumentError,
)

log = logging.getLogger("semsearch.serve")

UNAVAILABLE = (
    BackendError,
    IndexChangedError,
    IndexCorruptError,
    IndexFormatError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexWriteError,
)
UNEXPECTED = "the server failed to answer this request (its log says why); try again, or report it"


class ApiError(Exception):
    """An answer other than 200 decided by the server itself (read-only, bad token, too large…)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers


def one_line(text: str) -> str:
    """A message on one line (as the command prints it)."""
    return " ".join(str(text).split())


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON answer of every error: ``{"error": message}``."""
    return JSONResponse({"error": one_line(message)}, status_code=status, headers=headers)


def status_of(exc: BaseException) -> int:
    """The HTTP status of one of semsearch's errors."""
    if isinstance(exc, UnknownDocumentError):
        return 404
    if isinstance(exc, UNAVAILABLE):  # first: IndexNotFoundError is a FileNotFoundError, yet not bad input
        return 503
    if isinstance(exc, (InputError, FileNotFoundError)):
        return 400
    return 500


def validation_message(errors: list[Any]) -> str:
    """A pydantic/FastAPI validation error as one line naming the field: ``k: Input should be ≤ 100``."""
    parts = []
    for error in errors[:3]:
        loc = list(error.get("loc", ()))
        if loc and loc[0] in ("body", "query", "path", "header"):  # where it came from, not its name
            loc = loc[1:]
        where = ".".join(str(p) for p in loc)
        message = error.get("msg", "is not valid")
        if error.get("type") == "json_invalid":
            message = "the body is not valid JSON"
            where = ""
        elif error.get("type") == "model_attributes_type" and not where:  # a form, text, or no body
            message = "the body must be a JSON object, sent with Content-Type: application/json"
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts) or "the request is not valid"


def install(app: FastAPI) -> None:
    """Turn every failure of ``app`` into a JSON error."""

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, str(exc), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, validation_message(list(exc.errors())))

    @app.exception_handler(ValidationError)
    async def _invalid_model(request: Request, exc: ValidationError) -> JSONResponse:
        return error_response(400, validation_message(list(exc.errors())))

    @app.exception_handler(SemsearchError)
    async def _semsearch(request: Request, exc: SemsearchError) -> JSONResponse:
        status = status_of(exc)
        if status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, one_line(str(exc)))
        return error_response(status, str(exc) or type(exc).__name__)

    @app.exception_handler(TimeoutError)
    async def _slow(request: Request, exc: TimeoutError) -> JSONResponse:
        budget = getattr(request.app.state, "time_budget", None)
        return error_response(
            503, f"the request took longer than its time budget of {budget:g} s; ask for less or try again"
        )

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        message = exc.detail if exc.status_code != 404 else f"no such path: {request.url.path}"
        return error_response(exc.status_code, str(message), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return error_response(500, UNEXPECTED)
