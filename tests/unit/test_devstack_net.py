"""devstack's ports: chosen where the kernel never puts an outgoing connection."""

from __future__ import annotations

import socket

from devstack.net import HOST, _ephemeral_range, free_port


def test_free_ports_lie_below_the_ephemeral_range_and_can_be_bound() -> None:
    low, high = _ephemeral_range()
    ports = {free_port() for _ in range(50)}

    assert low < high
    assert all(1024 <= port < low for port in ports)
    assert len(ports) > 40, "ports are drawn at random, rarely twice"
    for port in list(ports)[:5]:
        with socket.socket() as s:
            s.bind((HOST, port))
