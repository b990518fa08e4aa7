"""What no handler of any HTTP API (operator, 3.1, portal) is given: a JSON body nested deeper than
MAX_DEPTH, and text no database stores (a NUL, a lone UTF-16 surrogate).

Python's json parser gives up with RecursionError at about a thousand levels, and the code after it (null
dropping, schema checks) recurses too: a 100,000-deep ``[[[...]]]`` was a 500 on every JSON route. This
middleware answers 400 with the reason before any handler parses the body, whatever its content type (a
handler may parse a body sent without one). No API of homeflex nests deeper than a few levels.

PostgreSQL refuses a NUL in text and UTF-8 has no lone surrogates: such a value in a form field, a JSON
string or the query reached the database and was a 500 (SQLite stored it). ``text_guard`` answers 400
first. It reads the body's escapes (``\\u0000``, an unpaired ``\\ud800``) and ``%00``, not the parsed
values, so a string holding the literal text ``\\u0000`` is refused too: no one sends that.
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


_NUL = re.compile(rb"\x00|\\u0000", re.I)  # raw, or as a JSON escape
_PERCENT_NUL = re.compile(rb"%00")  # in a query or a form: a NUL once decoded
_HIGH = rb"\\u[dD][89abAB][0-9a-fA-F]{2}"
_LOW = rb"\\u[dD][c-fC-F][0-9a-fA-F]{2}"
_SURROGATES = re.compile(_HIGH + _LOW + b"|" + _HIGH + b"|" + _LOW)  # a pair first, so a lone one stands out


def unstorable_text(raw: bytes, *, percent_encoded: bool = False) -> bool:
    """Whether `raw` (a body, or a query string when `percent_encoded`) carries a NUL or a lone
    surrogate, raw or escaped."""
    if _NUL.search(raw) or (percent_encoded and _PERCENT_NUL.search(raw)):
        return True
    return b"\\u" in raw.lower() and any(len(m.group()) == 6 for m in _SURROGATES.finditer(raw))


# Forms, uploads and OpenADR 2.0b's XML are not JSON: brackets in them are text.
_XML = ("application/xml", "text/xml")  # OpenADR 2.0b: the XML guard and parser judge it
_NOT_JSON = ("application/x-www-form-urlencoded", "multipart/form-data", *_XML)


@web.middleware
async def json_depth_guard(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.body_exists and request.content_type not in _NOT_JSON:
        body = await request.read()  # aiohttp keeps it: the handler reads the same bytes
        if too_deep(body):
            return web.json_response(
                {"error": f"the body nests JSON deeper than {MAX_DEPTH} levels"}, status=400
            )
    return await handler(request)


@web.middleware
async def text_guard(request: web.Request, handler: Any) -> web.StreamResponse:
    if unstorable_text(request.rel_url.raw_query_string.encode(), percent_encoded=True):
        return web.json_response({"error": "the query holds a NUL or a lone surrogate"}, status=400)
    kind = request.content_type
    if request.body_exists and not kind.startswith("multipart/") and kind not in _XML:
        form = kind == "application/x-www-form-urlencoded"
        if unstorable_text(await request.read(), percent_encoded=form):
            return web.json_response(
                {"error": "the body holds a NUL or a lone surrogate, which no text field stores"}, status=400
            )
    return await handler(request)
