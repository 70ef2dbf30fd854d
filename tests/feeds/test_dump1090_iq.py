"""dump1090 fed from I/Q samples: the squitters lowalt's encoder builds, modulated (PPM, 8-bit unsigned
I/Q, 2.4 MS/s) and piped into Debian's dump1090-mutability (``--ifile -``) as an SDR would hand them
over; the receiver demodulates, CRC-checks and CPR-decodes them itself, and lowalt's ADS-B client
puts the aircraft on the picture from dump1090's SBS output. dump1090's Beast output is decoded by
lowalt's own decoder too. Both within 50 m of the truth."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from typing import IO, Any

import numpy as np
import pytest

from lowalt.feeds.adsb import AdsbDecoder
from lowalt.feeds.modes_encode import identification, position, velocity
from lowalt.feeds.modes_iq import DUMP1090_BUFFER, envelope, uc8
from simulators.feeds import dump1090_argv, receiver_ports
from tests.conftest import auth, wait_until
from tests.feeds.test_adsb_e2e import RECEIVER, _lonlat, _metres

DUMP1090 = shutil.which("dump1090-mutability")
needs_dump1090 = pytest.mark.skipif(DUMP1090 is None, reason="dump1090-mutability not installed (scripts/bootstrap.sh)")
HEX = "7C4A10"
TRUTH = (-700.0, 450.0)  # east, north of the test origin (m)


def _squitters() -> list[str]:
    lon, lat = _lonlat(*TRUTH)
    return [identification(HEX, "B7231", tc=4, category=7), velocity(HEX, 0, 60, 0, 0),
            position(HEX, lat, lon, 1200, 0), position(HEX, lat, lon, 1200, 1)]


def test_ppm_envelope_and_iq_layout() -> None:
    msg = _squitters()[0]
    env = envelope(msg)
    assert env.size == 16 + 2 * 112
    assert env[:16].tolist() == [1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]  # pulses at 0, 1, 3.5, 4.5 us
    bits = [int(b) for b in f"{int(msg, 16):0112b}"]
    assert env[16::2].tolist() == bits and env[17::2].tolist() == [1 - b for b in bits]  # PPM: 1 = early pulse
    raw = np.frombuffer(uc8([msg], lead_s=0, gap_s=0, noise=0.0, sample_rate=2_000_000), dtype=np.uint8)
    mag = np.hypot(raw[0::2] - 127.5, raw[1::2] - 127.5)
    assert raw.size == 2 * env.size and np.allclose(mag, env * 60.0, atol=1.0)  # 2 MS/s: one sample per chip
    assert len(uc8([msg], pad_to=DUMP1090_BUFFER)) == 2 * DUMP1090_BUFFER
    with pytest.raises(ValueError, match="sample_rate"):
        uc8([msg], sample_rate=2_500_000)


def _decoded_by_dump1090(iq: bytes) -> list[str]:
    assert DUMP1090 is not None
    out = subprocess.run([DUMP1090, "--ifile", "-", "--iformat", "UC8", "--raw"], input=iq,
                         capture_output=True, timeout=60, check=True).stdout.decode()
    return [line.strip("*;").upper() for line in out.split() if line.startswith("*")]


@needs_dump1090
def test_dump1090_demodulates_24_msps_not_2_msps() -> None:
    """The reason the samples are 2.4 MS/s: this dump1090 decodes nothing at 2 MS/s."""
    msgs = _squitters()
    assert _decoded_by_dump1090(uc8(msgs, sample_rate=2_400_000, pad_to=DUMP1090_BUFFER)) == msgs
    assert _decoded_by_dump1090(uc8(msgs, sample_rate=2_000_000, pad_to=DUMP1090_BUFFER)) == []


@contextlib.contextmanager
def dump1090_on_stdin() -> Iterator[tuple[subprocess.Popen[bytes], dict[str, int]]]:
    ports = receiver_ports()
    proc = subprocess.Popen(dump1090_argv(ports, "--ifile", "-", "--iformat", "UC8", "--net"),
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield proc, ports
    finally:
        with contextlib.suppress(OSError):
            assert proc.stdin is not None
            proc.stdin.close()
        proc.terminate()
        proc.wait(10)


@needs_dump1090
async def test_dump1090_fed_iq_puts_the_aircraft_on_the_picture(feeds_server: Any, make_token: Any) -> None:
    # each chunk: the four squitters then noise to one full dump1090 buffer (~55 ms at 2.4 MS/s)
    chunk = uc8(_squitters(), pad_to=DUMP1090_BUFFER)
    with dump1090_on_stdin() as (proc, ports):
        stdin: IO[bytes] = proc.stdin  # type: ignore[assignment]

        async def beast_out() -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
            with contextlib.suppress(OSError):
                return await asyncio.open_connection("127.0.0.1", ports["bo"])
            return None

        beast, beast_w = await wait_until(beast_out, 10, "dump1090's Beast output port")  # keep the writer open
        doc = {"adsb": [{"receiver": "d1090-iq", "connect": f"127.0.0.1:{ports['sbs']}", "format": "sbs",
                         "location": list(RECEIVER)}]}
        async with feeds_server(doc) as server:
            viewer = await make_token("viewer")

            async def seen() -> dict[str, Any] | None:
                await asyncio.to_thread(stdin.write, chunk)  # the SDR keeps handing over samples
                await asyncio.to_thread(stdin.flush)
                tracks = (await server.http.get("/tracks", headers=auth(viewer))).json()["features"]
                return next((t for t in tracks if t["id"] == f"ADSB-{HEX}"), None)

            track = await wait_until(seen, what="the aircraft dump1090 demodulated from I/Q, on lowalt's picture")
        frames = await beast.read(65536)
        beast_w.close()
    x, y = _metres(*track["geometry"]["coordinates"][:2])
    assert np.hypot(x - TRUTH[0], y - TRUTH[1]) < 50.0, (x, y)
    assert abs(track["properties"]["alt_amsl_m"] - 1200 * 0.3048) < 0.01  # SBS: barometric, standard QNH
    assert abs(track["properties"]["vy"] - 60 * 1852 / 3600) < 0.3  # north at 60 kt
    # the same demodulated frames from dump1090's Beast output, through lowalt's own decoder
    res = AdsbDecoder(RECEIVER).feed(frames, 0.0)
    assert res.malformed == 0 and res.reports, res
    for r in res.reports:
        bx, by = _metres(r.lon, r.lat)
        assert np.hypot(bx - TRUTH[0], by - TRUTH[1]) < 50.0, (bx, by)
        assert r.cat == "helicopter" and r.id == f"ADSB-{HEX}"
