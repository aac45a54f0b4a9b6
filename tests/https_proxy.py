"""A company network for tests: a small HTTPS proxy, and the sandbox served over TLS.

The proxy answers ``CONNECT host:port`` and then relays bytes both ways.

It is what a company proxy does for HTTPS: the client asks it to open a tunnel, then speaks TLS
to the real server through it, so the proxy sees only the target name. It runs on its own event
loop in a daemon thread (like the sandbox), records every CONNECT target, can map host names to
addresses (so a name that does not resolve on this machine proves the request went through it),
and can demand a sign-in (407) the way an authenticating proxy does.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Any, Self

import uvicorn

from gradient_desktop.sandbox.app import create_app
from gradient_desktop.sandbox.options import SandboxOptions
from gradient_desktop.sandbox.seed import make_state


class ConnectProxy:
    """``with ConnectProxy(hosts={"gradient.test": "127.0.0.1"}) as proxy: proxy.url``."""

    def __init__(
        self,
        *,
        hosts: dict[str, str] | None = None,
        require_auth: bool = False,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.hosts = dict(hosts or {})
        self.require_auth = require_auth
        #: Serve the proxy itself over TLS (an ``https://`` proxy), with this server context.
        self.tls = tls
        #: Every CONNECT target asked for, in order ("host:port").
        self.connects: list[str] = []
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    # -- the proxy itself ---------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            method, target, _version = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            if method != "CONNECT":
                writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            self.connects.append(target)
            if self.require_auth:
                writer.write(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                    b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n'
                )
                return
            host, _, port = target.rpartition(":")
            try:
                up_reader, up_writer = await asyncio.open_connection(
                    self.hosts.get(host, host), int(port)
                )
            except OSError:
                writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            with contextlib.suppress(Exception):
                await writer.drain()
            writer.close()

    # -- lifecycle ----------------------------------------------------------------------------

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        self._server = loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.tls)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _shutdown(self) -> None:
        """Stop listening and end every open tunnel, so nothing is left pending."""
        assert self._server is not None
        self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name="test-connect-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the test proxy did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


class TlsSandbox:
    """The demo sandbox served over https on 127.0.0.1 with the given certificate."""

    def __init__(self, cert: Any, tmp: Path) -> None:
        """``cert``: a ``trustme.LeafCert`` (from ``trustme.CA().issue_cert(...)``)."""
        self.certfile, self.keyfile = tmp / "server.pem", tmp / "server.key"
        cert.private_key_pem.write_to_path(str(self.keyfile))
        cert.cert_chain_pems[0].write_to_path(str(self.certfile))
        options = SandboxOptions(seed="demo", random_seed=7, latency_ms=0)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(make_state("demo", 7), options),
            ssl_certfile=str(self.certfile),
            ssl_keyfile=str(self.keyfile),
            log_level="warning",
            lifespan="off",
            loop="asyncio",
            http="h11",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> TlsSandbox:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the TLS sandbox did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
