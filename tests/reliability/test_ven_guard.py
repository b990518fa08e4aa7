"""A VTN (or anything answering at its URL) that sends a DTD with entities cannot crash a VEN: the answer
is refused as a schema failure and the VEN process carries on. Run in a child process, since without the
guard openleadr's parser takes the whole process down (SIGSEGV, bench/RELIABILITY.md)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from aiohttp import web

from homeflex.mqtt.broker import free_port
from tests.reliability.test_fuzz_openadr import laughs

VEN = """
import asyncio, sys
from openleadr import OpenADRClient
from homeflex.ven.tls import guard_vtn_responses

async def main() -> None:
    guard_vtn_responses()
    client = OpenADRClient(ven_name="hh", vtn_url=sys.argv[1], show_fingerprint=False)
    await client.create_party_registration()
    print("registered" if client.registration_id else "survived, not registered")
    await client.stop()

asyncio.run(main())
"""


async def test_ven_survives_a_vtn_answering_with_entities(tmp_path: Path) -> None:
    async def evil(request: web.Request) -> web.Response:
        return web.Response(text=laughs(3), content_type="application/xml")

    app = web.Application()
    app.router.add_post("/{tail:.*}", evil)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        script = tmp_path / "ven.py"
        script.write_text(VEN)
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            f"http://127.0.0.1:{port}/OpenADR2/Simple/2.0b",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=Path(__file__).parents[2],
        )
        out, err = await asyncio.wait_for(child.communicate(), 60)
    finally:
        await runner.cleanup()
    assert child.returncode == 0, (child.returncode, err.decode()[-500:])
    assert out.decode().strip() == "survived, not registered"
    assert "not allowed in an OpenADR message" in err.decode()
