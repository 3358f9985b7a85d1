"""tcpbook.lab: reading the kernel's TCP table, checked against a real socket."""

import socket

import pytest

from tcpbook.lab import PROC_STATES, connection_table, parse_ss_seconds, proc_net_tcp


def test_ss_timer_spellings():
    assert parse_ss_seconds("59sec") == 59
    assert parse_ss_seconds("1min2sec") == 62
    assert parse_ss_seconds("350ms") == pytest.approx(0.35)


def test_proc_net_tcp_shows_a_real_listening_socket_and_a_connection():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    server, _ = listener.accept()
    try:
        rows = [r for r in proc_net_tcp() if r["local"].endswith(f":{port}") or r["peer"].endswith(f":{port}")]
        states = sorted(r["state"] for r in rows)
        assert states == ["ESTAB", "ESTAB", "LISTEN"]
        assert all(r["local"].startswith("127.0.0.1:") for r in rows)
        source, table = connection_table(port)
        assert source in ("ss -tano", "/proc/net/tcp")
        assert sorted(r["state"] for r in table) == states
    finally:
        for s in (client, server, listener):
            s.close()
    assert set(PROC_STATES.values()) >= {"ESTAB", "LISTEN", "TIME-WAIT"}
