"""``lowalt demo`` refuses a port another server listens on, not one a server stopped a moment ago left
connections of in TIME_WAIT (restarting the demo at once said "in use" for up to a minute)."""

from __future__ import annotations

import socket

from lowalt.launch import free_port
from simulators.demo import _port_free


def test_a_listening_port_is_in_use_and_a_stopped_servers_port_is_free() -> None:
    port = free_port()
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen()
    assert not _port_free("127.0.0.1", port)
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server side closes first: its end of the connection waits in TIME_WAIT
    client.close()
    server.close()
    assert _port_free("127.0.0.1", port)
