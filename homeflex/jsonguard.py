"""No JSON body nested deeper than MAX_DEPTH reaches a handler, on every HTTP API (operator, 3.1, portal).

Python's json parser gives up with RecursionError at about a thousand levels, and the code after it (null
dropping, schema checks) recurses too: a 100,000-deep ``[[[...]]]`` was a 500 on every JSON route. This
middleware answers 400 with the reason before any handler parses the body, whatever its content type (a
handler may parse a body sent without one). No API of homeflex nests deeper than a few levels.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

MAX_DEPTH = 64
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(rb"[\[\]{}]")


def too_deep(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether `body` nests arrays and objects deeper than `limit` (strings skipped; not a validity
    check: the handler's parser judges the rest)."""
    if body.count(b"[") + body.count(b"{") <= limit:  # the common case, without a scan
        return False
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub(b"", body)):
        depth += 1 if match.group() in (b"[", b"{") else -1
        if depth > limit:
            return True
    return False


# Forms, uploads and OpenADR 2.0b's XML are not JSON: brackets in them are text.
_NOT_JSON = ("application/x-www-form-urlencoded", "multipart/form-data", "application/xml", "text/xml")


@web.middleware
async def json_depth_guard(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.body_exists and request.content_type not in _NOT_JSON:
        body = await request.read()  # aiohttp keeps it: the handler reads the same bytes
        if too_deep(body):
            return web.json_response(
                {"error": f"the body nests JSON deeper than {MAX_DEPTH} levels"}, status=400
            )
    return await handler(request)
