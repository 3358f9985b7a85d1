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


# -- TIME-WAIT on the real kernel -----------------------------------------------------------


def _kernel_at_least(major: int, minor: int) -> bool:
    import platform

    parts = platform.release().split(".")
    return (int(parts[0]), int("".join(c for c in parts[1] if c.isdigit()) or 0)) >= (major, minor)


def test_a_restarted_listener_binds_over_time_wait_only_if_both_set_so_reuseaddr():
    from tcpbook.lab import bind_after_time_wait

    assert bind_after_time_wait(True, True) == "bound"
    assert bind_after_time_wait(True, False) == "EADDRINUSE"
    assert bind_after_time_wait(False, True) == "EADDRINUSE"


def test_connect_takes_a_loopback_time_wait_port_back_as_tcp_tw_reuse_says():
    from tcpbook.lab import reconnect_from_time_wait, sysctl

    result = reconnect_from_time_wait(give_up=2.5)
    if not _kernel_at_least(6, 3):
        assert result is None  # no IP_LOCAL_PORT_RANGE before Linux 6.3
        return
    assert result is not None and result["errors"] == ["EADDRNOTAVAIL"]
    reuse = sysctl("net.ipv4.tcp_tw_reuse")
    delay = float(sysctl("net.ipv4.tcp_tw_reuse_delay") or 1000) / 1000
    if reuse in ("1", "2") and sysctl("net.ipv4.tcp_timestamps") != "0":
        assert delay - 0.01 <= result["connected_after"] <= delay + 0.5
    else:
        assert result["connected_after"] is None


def test_kernel_settings_and_slab_sizes_read_from_proc():
    import os

    from tcpbook.lab import slab_object_size, sysctl

    low, high = (int(x) for x in sysctl("net.ipv4.ip_local_port_range").split())
    assert 1 <= low <= high <= 65535
    assert sysctl("net.ipv4.no_such_setting") is None
    if os.access("/proc/slabinfo", os.R_OK):
        assert 0 < slab_object_size("tw_sock_TCP") < slab_object_size("TCP")
    else:
        assert slab_object_size("tw_sock_TCP") is None
    assert slab_object_size("no_such_cache") is None
