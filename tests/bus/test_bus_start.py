"""A node whose bus is not there does not start (it waited for ever, with no port open and deaf to SIGTERM);
a malformed bus URL is refused at start-up, naming the setting; no password of a bus URL reaches a log."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lowalt.bus import natsbus
from lowalt.bus.natsbus import BusUnavailable, NatsBus, shown_url
from lowalt.launch import free_port
from lowalt.settings import Settings


@pytest.mark.parametrize("url", ["nats://127.0.0.1:4222", "tls://node:pw@bus.example:4222", "nats://bus", "wss://b:443/"])
def test_bus_urls_accepted(url: str) -> None:
    assert Settings(nats_url=url).nats_url == url


@pytest.mark.parametrize("url", ["garbage", "http://127.0.0.1:4222", "nats://", "nats://a b:4222", "nats://h:4222/x"])
def test_bus_urls_refused_naming_the_setting(url: str) -> None:
    with pytest.raises(ValidationError, match="nats_url"):
        Settings(nats_url=url)


def test_shown_url_drops_the_user_and_password() -> None:
    assert shown_url("tls://node:s3cret@bus.example:4222") == "tls://bus.example:4222"
    assert shown_url("nats://127.0.0.1:4222") == "nats://127.0.0.1:4222"


async def test_no_bus_at_start_is_an_error_not_a_wait(monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(natsbus, "START_TIMEOUT_S", 1.0)
    bus = NatsBus(f"nats://node:s3cret@127.0.0.1:{free_port()}", "probe")  # nothing listens there
    with pytest.raises(BusUnavailable, match=r"nats://127\.0\.0\.1:\d+ within 1 s") as refused:
        await bus.start()
    assert "s3cret" not in str(refused.value) and "s3cret" not in caplog.text
