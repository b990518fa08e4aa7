"""Which XML must never reach openleadr's parser (VTN and VEN alike): a document with a DTD.

openleadr parses every OpenADR message with a schema-validating lxml parser that substitutes entities,
and with libxml2 2.14 a single internal entity referenced inside an OpenADR element crashes the process
(SIGSEGV; found by fuzzing, bench/RELIABILITY.md). OpenADR messages never carry a DTD, so a message is
first parsed by a parser that loads no DTD, resolves no entity and reaches no network.
"""

from __future__ import annotations

from lxml import etree

_SAFE = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False)


def unsafe_xml(body: bytes) -> str | None:
    """Why `body` must not reach openleadr's parser, or None."""
    try:
        tree = etree.fromstring(body, _SAFE)
    except (etree.XMLSyntaxError, ValueError) as err:  # ValueError: e.g. an encoding lxml cannot read
        return f"XML failed to parse: {err}"
    info = tree.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        return "a DTD (DOCTYPE, entity declarations) is not allowed in an OpenADR message"
    return None
