"""Bad input at the OpenADR 2.0b endpoint: random bytes, broken and mutated messages, deep nesting, XXE,
entity expansion and oversized bodies, at every service path. Each gets a clear 4xx (or an OpenADR
error response), never a 500, never a hang; nothing from a local file leaks; the VTN keeps serving a
real VEN afterwards. The in-suite budget is small; `python -m bench fuzz` runs more."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openleadr.messaging import create_message

from tests.reliability.live import LiveVtn

PREFIX = "/OpenADR2/Simple/2.0b"
SERVICES = ("EiRegisterParty", "OadrPoll", "EiEvent", "EiReport", "EiOpt")
HOUSEHOLD = "fuzzhh"
EXAMPLES = int(os.environ.get("HOMEFLEX_FUZZ_EXAMPLES", "60"))  # per strategy
TIMEOUT_S = 10.0  # a hang is a failure
SECRET = Path("/etc/hostname")

POLL = create_message("oadrPoll", ven_id="ven-x")
REGISTER = create_message(
    "oadrCreatePartyRegistration",
    request_id="r1",
    ven_name=HOUSEHOLD,
    http_pull_model=True,
    xml_signature=False,
    report_only=False,
    profile_name="2.0b",
    transport_name="simpleHttp",
    transport_address=None,
)
XML_HEAD = '<?xml version="1.0" encoding="utf-8"?>'
OADR_NS = 'xmlns:oadr="http://openadr.org/oadr-2.0b/2012/07"'


def xxe(path: Path) -> str:
    return (
        f'{XML_HEAD}<!DOCTYPE oadr:oadrPayload [<!ENTITY xxe SYSTEM "file://{path}">]>'
        f"<oadr:oadrPayload {OADR_NS}><oadr:oadrSignedObject>&xxe;</oadr:oadrSignedObject></oadr:oadrPayload>"
    )


def laughs(levels: int) -> str:
    entities = ['<!ENTITY l0 "lol">'] + [
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, levels + 1)
    ]
    return (
        f"{XML_HEAD}<!DOCTYPE oadr:oadrPayload [{''.join(entities)}]>"
        f"<oadr:oadrPayload {OADR_NS}><oadr:oadrSignedObject>&l{levels};</oadr:oadrSignedObject>"
        "</oadr:oadrPayload>"
    )


def nested(depth: int) -> str:
    return f"{XML_HEAD}<oadr:oadrPayload {OADR_NS}>{'<a>' * depth}{'</a>' * depth}</oadr:oadrPayload>"


def truncated(message: str, at: float) -> str:
    return message[: int(len(message) * at)]


def mutated(message: str, at: float, junk: str) -> str:
    cut = int(len(message) * at)
    return message[:cut] + junk + message[cut:]


BODIES = st.one_of(
    st.binary(max_size=2048),
    st.text(max_size=512).map(str.encode),
    st.builds(truncated, st.sampled_from([POLL, REGISTER]), st.floats(0, 1)).map(str.encode),
    st.builds(mutated, st.sampled_from([POLL, REGISTER]), st.floats(0, 1), st.text(max_size=40)).map(
        str.encode
    ),
    st.builds(lambda v: POLL.replace("ven-x", v), st.text(max_size=200)).map(
        lambda s: s.encode("utf-8", "replace")
    ),
    st.builds(lambda v: REGISTER.replace(">hh<", f">{v}<"), st.text(max_size=200)).map(
        lambda s: s.encode("utf-8", "replace")
    ),
    st.integers(1, 20_000).map(nested).map(str.encode),
    st.integers(1, 12).map(laughs).map(str.encode),
)
CONTENT_TYPES = st.sampled_from(["application/xml", "application/xml; charset=utf-8", "text/plain", ""])


@pytest.fixture(scope="module")
def vtn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveVtn]:
    with LiveVtn(tmp_path_factory.mktemp("fuzz-openadr"), households=(HOUSEHOLD,)) as live:
        yield live


def post(vtn: LiveVtn, service: str, body: bytes, content_type: str) -> requests.Response:
    headers = {"Content-Type": content_type} if content_type else {}
    return requests.post(f"{vtn.url}{PREFIX}/{service}", data=body, headers=headers, timeout=TIMEOUT_S)


def check(response: requests.Response, outcomes: Counter[str]) -> None:
    """No server error; an error says what is wrong (an HTTP 4xx with a text, or an OpenADR response)."""
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if response.status_code >= 400:
        assert response.text.strip() or response.status_code in (404, 405, 413), response.status_code
    outcomes[str(response.status_code)] += 1


def test_random_and_malformed_messages_get_clear_errors(vtn: LiveVtn) -> None:
    outcomes: Counter[str] = Counter()

    @settings(
        max_examples=EXAMPLES * 3, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(service=st.sampled_from(SERVICES), body=BODIES, content_type=CONTENT_TYPES)
    def run(service: str, body: bytes, content_type: str) -> None:
        check(post(vtn, service, body, content_type), outcomes)

    run()
    print(f"openadr fuzz outcomes: {dict(outcomes)}")
    assert sum(outcomes.values()) >= EXAMPLES
    assert_still_serving(vtn)


@pytest.mark.parametrize("service", SERVICES)
def test_xxe_entity_expansion_depth_and_size_are_refused(vtn: LiveVtn, service: str) -> None:
    outcomes: Counter[str] = Counter()
    secret = SECRET.read_text().strip() if SECRET.exists() else None
    for body in (xxe(SECRET), xxe(Path("/etc/passwd")), laughs(9), nested(100_000)):
        response = post(vtn, service, body.encode(), "application/xml")
        check(response, outcomes)
        assert "root:" not in response.text
        assert secret is None or secret not in response.text
        assert len(response.content) < 100_000  # nothing expanded came back
    oversized = post(vtn, service, b"<a>" + b"x" * (8 * 1024 * 1024) + b"</a>", "application/xml")
    assert oversized.status_code == 413
    assert_still_serving(vtn)


def assert_still_serving(vtn: LiveVtn) -> None:
    """A real registration still works after the abuse."""
    response = post(vtn, "EiRegisterParty", REGISTER.encode(), "application/xml")
    assert response.status_code == 200
    assert "<ei:responseCode>200</ei:responseCode>" in response.text
    assert "registrationID" in response.text
