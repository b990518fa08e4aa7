"""The VTN's first middleware on OpenADR paths: a wrong Content-Type gets the 400 openleadr means to send
(its own check fails with a TypeError and a 500 in 0.5.36), and a body with a DTD, or one that does not
parse, gets a 400 before openleadr's parser can see it (homeflex.core.xmlsafe)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from homeflex.core.xmlsafe import unsafe_xml


def xml_guard(prefix: str) -> Any:
    """Middleware for POSTs under the OpenADR `prefix`; everything else passes untouched."""

    @web.middleware
    async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.method == "POST" and request.path.startswith(prefix):
            content_type = request.headers.get("Content-Type", "")
            if not content_type.lower().startswith("application/xml"):
                return web.Response(
                    status=400, text=f"the Content-Type must be application/xml, not {content_type[:100]!r}"
                )
            why = unsafe_xml(await request.read())  # cached: openleadr reads the same bytes
            if why is not None:
                return web.Response(status=400, text=why)
        return await handler(request)

    return guard
