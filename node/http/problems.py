"""Errors as ``application/problem+json`` (RFC 9457), mapped in one place.

Every refusal carries a stable ``code`` (``docs/api.md#errors``); this
middleware is the only place that turns an error into an HTTP status, so no
handler builds an error response by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from node.errors import HTTP_STATUS, NodeError
from protocol import ProtocolError

__all__ = ["STATUS", "problem", "problems_middleware"]

logger = logging.getLogger(__name__)

#: Stable code → HTTP status (one table: ``node.errors.HTTP_STATUS``).
STATUS = HTTP_STATUS

_TITLES = {
    "malformed": "The request is malformed",
    "non-canonical": "A value is outside the canonical JSON subset",
    "too-large": "Too large",
    "unauthorised": "Credentials are missing or not valid",
    "forbidden": "Your role does not allow this",
    "not-found": "Not found",
    "catching-up": "The node must catch up its own feed before publishing",
}


def problem(
    code: str,
    detail: str,
    *,
    field: str | None = None,
    status: int | None = None,
    retry_after: int | None = None,
) -> web.Response:
    """Build a problem+json response for a stable code."""
    status = status or STATUS.get(code, 400)
    body: dict[str, object] = {
        "type": f"urn:tredegar:problem:{code}",
        "title": _TITLES.get(code, code.replace("-", " ").capitalize()),
        "status": status,
        "code": code,
        "detail": detail,
    }
    if field:
        body["field"] = field
    response = web.Response(
        body=orjson.dumps(body),
        status=status,
        content_type="application/problem+json",
    )
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="tredegar"'
    if status in (429, 503):
        default = 1 if status == 429 else 5
        response.headers["Retry-After"] = str(retry_after or default)
    return response


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def problems_middleware(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Turn every error raised below into a problem response."""
    try:
        return await handler(request)
    except ProtocolError as error:
        return problem(error.code, error.message, field=error.field_path)
    except NodeError as error:
        return problem(error.code, error.message, retry_after=error.retry_after)
    except web.HTTPRequestEntityTooLarge:
        return problem("too-large", "the request body is over the limit")
    except web.HTTPNotFound:
        return problem("not-found", f"nothing at {request.path}")
    except web.HTTPMethodNotAllowed as error:
        response = problem(
            "method-not-allowed", f"{request.method} is not allowed here"
        )
        response.headers["Allow"] = ",".join(sorted(error.allowed_methods))
        return response
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return problem("malformed", error.reason, status=error.status)
    except Exception:
        logger.exception("unexpected error serving %s %s", request.method, request.path)
        return problem("internal", "the node failed to answer; see its log")
