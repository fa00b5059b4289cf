"""TCP forwarding between this machine's loopback and the dev cluster's namespace.

Two directions, each a rule ``LISTEN=TARGET`` (``host:port`` both):

- ``--into``: listen on the host's loopback, connect inside the cluster namespace.
  This is how ``kubectl`` and the tests reach the API server, or a Service's
  ClusterIP, from the user's shell.
- ``--out``: listen inside the namespace, connect to the host's loopback. This is how
  pods reach a database the tests started on loopback (at ``NODE_IP:port``).

A socket belongs to the namespace of the thread that created it, so one process
serves both directions: it creates each socket with the right namespace entered and
then moves bytes with asyncio. Run as ``python -m syncline.devcluster.forward``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from syncline.devcluster.netns import NetworkNamespace

CHUNK = 256 * 1024


@dataclass(frozen=True)
class Rule:
    """Listen on one address, connect each accepted client to the other."""

    listen: tuple[str, int]
    target: tuple[str, int]

    @classmethod
    def parse(cls, text: str) -> Rule:
        listen, _, target = text.partition("=")
        return cls(_address(listen), _address(target))


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            writer.close()


Entering = Callable[[], AbstractContextManager[None]]


async def _serve(rule: Rule, listen_in: Entering, connect_in: Entering) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with connect_in():
            upstream_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        upstream_socket.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(upstream_socket, rule.target)
        except OSError:
            upstream_socket.close()
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(sock=upstream_socket)
        await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer))

    with listen_in():
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(rule.listen)
    return await asyncio.start_server(handle, sock=listener)


async def serve(netns: NetworkNamespace, into: list[Rule], out: list[Rule]) -> None:
    """Forward every rule until cancelled."""
    servers = [await _serve(r, contextlib.nullcontext, netns.entered) for r in into]
    servers += [await _serve(r, netns.entered, contextlib.nullcontext) for r in out]
    print("forwarding: " + ", ".join(f"{r.listen}->{r.target}" for r in into + out), flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m syncline.devcluster.forward")
    parser.add_argument("--netns", required=True, help="network namespace name")
    parser.add_argument("--into", action="append", default=[], type=Rule.parse)
    parser.add_argument("--out", action="append", default=[], type=Rule.parse)
    args = parser.parse_args(argv)
    asyncio.run(serve(NetworkNamespace(args.netns), args.into, args.out))


if __name__ == "__main__":
    main()
