"""A scripted HTTP server on a real loopback socket, for the faults a real server seldom
shows on cue: truncated bodies, resets, hangs, scripted statuses; and raw response bytes."""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import dataclass, field
from typing import Any, Self


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def response(
    status: int,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
    length: int | None = None,
) -> bytes:
    """Raw HTTP/1.1 response bytes; ``length`` overrides Content-Length (truncation)."""
    content = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    lines = [
        f"HTTP/1.1 {status} X",
        f"Content-Length: {len(content) if length is None else length}",
    ]
    lines += [f"{k}: {v}" for k, v in (headers or {"Content-Type": "application/json"}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + content


@dataclass
class FaultServer:
    """A scripted HTTP server on a real loopback socket: one action per request.

    An action is raw response bytes, ``"reset"`` (RST), ``"close"`` (FIN, no answer) or
    ``"hang"`` (never answer), or ``(raw bytes, "close")`` to answer and then close.
    """

    actions: list[Any]
    requests: list[Seen] = field(default_factory=list)
    url: str = ""

    async def __aenter__(self) -> Self:
        self._stop = asyncio.Event()
        self._writers: list[asyncio.StreamWriter] = []
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        for writer in self._writers:
            writer.transport.abort()
        self._server.close()
        await self._server.wait_closed()
        await asyncio.sleep(0)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                first, *lines = head.decode().split("\r\n")
                headers = {
                    k.lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                method, target, _ = first.split(" ")
                self.requests.append(Seen(method, target, headers, body))
                action = self.actions.pop(0) if self.actions else response(500, {})
                if action == "reset":
                    writer.transport.abort()
                    return
                if action == "close":
                    writer.close()
                    return
                if action == "hang":
                    await self._stop.wait()
                    return
                close = isinstance(action, tuple)  # (bytes, "close"): answer, then FIN
                writer.write(action[0] if close else action)
                await writer.drain()
                if close:
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.transport.abort()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
