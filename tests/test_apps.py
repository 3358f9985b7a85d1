"""The scripted applications behave like socket programs."""

from tcpbook import simulate
from tcpbook.apps import payload


def test_payload_is_deterministic_random_bytes():
    assert payload(100, 1) == payload(100, 1) != payload(100, 2)
    assert len(payload(0)) == 0


def test_server_closes_after_end_of_file_and_its_delay():
    t = simulate("full", close_delay=0.5)
    eof = next(e.t for e in t.app_events if e.endpoint == "server" and e.action == "eof")
    close = next(e.t for e in t.app_events if e.endpoint == "server" and e.action == "close")
    assert round(close - eof, 6) == 0.5


def test_shutdown_keeps_reading_then_closes_at_eof():
    t = simulate("half-close")
    actions = [e.action for e in t.app_events if e.endpoint == "client"]
    assert actions.index("shutdown") < actions.index("data") < actions.index("eof") < actions.index("close")
