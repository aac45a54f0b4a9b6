"""A lean HTTP/1.1 transport for the Vendor API client: keep-alive connections whose answers
are parsed by ``httptools`` (llhttp, in C), behind httpx's transport interface, so everything
above it (the client, retries, errors) still speaks httpx.

Why: a 9,000-count sync (bench/syncall.py, sampled with py-spy) spent ~80 % of the client's
CPU in httpx's default transport, half of that in httpcore's pool re-checking *every* idle
connection (a ``getpeername`` and a ``poll`` each) on every request and every answer, the
rest in h11 and anyio. Here a connection learns that the server closed it from the event loop
(``connection_lost``) instead of being polled, the pool is a LIFO list per origin, and the
request head is one ``bytes`` join.

Scope: direct connections, plain http (loopback only, the client refuses it elsewhere) or https
with the caller's SSL context. A proxy goes through httpx's own transport
(``transport.make_transport`` decides). One request at a time per connection, no pipelining.

Errors are httpx's, with the meaning the retry rules rely on (``retry.py``): ``ConnectError``,
``ConnectTimeout`` and ``PoolTimeout`` - nothing was sent; ``ReadError``, ``ReadTimeout`` and
``RemoteProtocolError`` - the request may have been processed. Any failure or cancellation
mid-request closes that connection: its state is unknown, so it is never reused.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections import deque
from typing import Any

import httptools
import httpx

__all__ = ["FastTransport"]

_Key = tuple[str, str, int]
#: RFC 9110 token characters: what a header name may be made of.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: A header value must not break out of its line (header injection) or carry a NUL.
_BAD_VALUE = re.compile(rb"[\r\n\0]")
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: How long closing the transport waits for its connections' sockets to close.
CLOSE_WAIT_S = 1.0


#: Header names already checked (the client sends the same few on every request).
_GOOD_NAMES: set[bytes] = set()


def _head(request: httpx.Request) -> tuple[bytes, bool]:
    """The request line and headers, validated as h11 would (a bad header is refused here,
    before anything is written), and whether the body goes chunked."""
    raw = request.headers.raw
    parts = [request.method.encode("ascii"), b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
    chunked = False
    for name, value in raw:
        if name not in _GOOD_NAMES:
            if _TOKEN.fullmatch(name) is None:
                raise httpx.LocalProtocolError(f"Illegal header name {name!r}", request=request)
            if len(_GOOD_NAMES) < 256:
                _GOOD_NAMES.add(name)
        if len(name) == 17 and name.lower() == b"transfer-encoding":
            chunked = value.strip().lower() == b"chunked"
        parts += (name, b": ", value, b"\r\n")
    # One search over every value: a CR, LF or NUL anywhere is a header breaking its line.
    if _BAD_VALUE.search(b"".join([value for _, value in raw])) is not None:
        raise httpx.LocalProtocolError("Illegal header value", request=request)
    parts.append(b"\r\n")
    return b"".join(parts), chunked


def _response(
    status: int, headers: list[tuple[bytes, bytes]], body: bytes, reason: bytes
) -> httpx.Response:
    """The answer as a fully read ``httpx.Response``.

    ``Response(content=...)`` reads its body through httpx's decoder and chunker machinery,
    a quarter of the client's CPU per count request. An answer without a Content-Encoding
    needs none of it: its body *is* its content, stored where ``read()`` would store it.
    ``_BODY_SHORTCUT`` is checked once against httpx itself (module end); if that ever stops
    holding, every answer takes httpx's own path.
    """
    extensions = {"http_version": b"HTTP/1.1", "reason_phrase": reason}
    if _BODY_SHORTCUT and not any(n.lower() == b"content-encoding" for n, _ in headers):
        response = httpx.Response(
            status, headers=headers, stream=httpx.ByteStream(body), extensions=extensions
        )
        response._content = body  # what Response.read() stores
        response.is_stream_consumed = response.is_closed = True
        return response
    return httpx.Response(status, headers=headers, content=body, extensions=extensions)


class _Connection(asyncio.Protocol):
    """One keep-alive connection: writes a request, parses its answer, reports when it closes."""

    def __init__(self, transport_owner: FastTransport, key: _Key) -> None:
        self.owner, self.key = transport_owner, key
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.loop = asyncio.get_running_loop()
        #: busy (a request in flight or being set up), idle (in the pool) or gone (closed)
        self.state = "busy"
        self.closed = False
        #: Done when the socket is closed (``connection_lost``): ``aclose`` waits for it.
        self.lost: asyncio.Future[None] = self.loop.create_future()
        self.idle_since = 0.0
        self._reset()

    def _reset(self) -> None:
        self.waiter: asyncio.Future[None] | None = None
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.size = 0
        self.max_body = 0
        self.headers_done = False
        self.complete = False
        self.keep_alive = True
        self.head_request = False
        self.last_data = 0.0
        self.read_timeout: float | None = None
        self.error: BaseException | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.waiter is None or self.complete:
            # Bytes nobody asked for: the connection is out of step with the server.
            self.keep_alive = False
            self.close()
            return
        self.last_data = self.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(httpx.RemoteProtocolError("the server switched protocols unasked"))
        except httptools.HttpParserError as exc:
            if self.error is None:  # not a failure we raised from a callback ourselves
                self._fail(httpx.RemoteProtocolError(f"malformed answer from the server ({exc})"))
            self.close()

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.lost.done():
            self.lost.set_result(None)
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            delimited_by_close = (
                self.headers_done
                and exc is None
                and not any(
                    n.lower() in (b"content-length", b"transfer-encoding") for n, _ in self.headers
                )
            )
            if delimited_by_close:  # HTTP/1.0 style: the body ends where the connection does
                self.complete, self.keep_alive = True, False
                waiter.set_result(None)
            elif exc is not None:
                self._fail(httpx.ReadError(str(exc) or type(exc).__name__))
            elif self.status:
                self._fail(httpx.RemoteProtocolError("the server closed the connection mid-answer"))
            else:
                self._fail(
                    httpx.RemoteProtocolError("Server disconnected without sending a response.")
                )
        self.owner._closed(self)

    # -- httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.complete:  # a second answer to one request
            self.keep_alive = False

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()
        self.headers_done = True
        if self.head_request:  # a HEAD answer has no body whatever its headers say
            self.keep_alive = False
            self._finish()

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > self.max_body:
            self._fail(httpx.ReadError("answer larger than the app accepts"))
            raise httptools.HttpParserCallbackError("body too large")
        self.body.append(body)

    def on_message_complete(self) -> None:
        if 100 <= self.status < 200:  # an interim answer (e.g. 103): the real one follows
            self.status, self.reason, self.headers, self.headers_done = 0, b"", [], False
            return
        self._finish()

    # -- use ---------------------------------------------------------------------------------

    def _finish(self) -> None:
        self.complete = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        self.keep_alive = False
        self.error = exc
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.abort()

    @property
    def usable(self) -> bool:
        return not self.closed and self.transport is not None and not self.transport.is_closing()

    async def exchange(
        self, head: bytes, body: bytes, read_timeout: float | None, max_body: int, is_head: bool
    ) -> httpx.Response:
        self._reset()
        self.max_body, self.head_request = max_body, is_head
        waiter = self.waiter = self.loop.create_future()
        assert self.transport is not None
        self.last_data = self.loop.time()
        self.transport.write(head + body if len(body) < 65536 else head)
        if len(body) >= 65536:
            self.transport.write(body)
        self.read_timeout = read_timeout
        if read_timeout is not None:
            self.owner._watch(self)
        try:
            await waiter
        finally:
            self.owner._busy.discard(self)
        return _response(self.status, self.headers, b"".join(self.body), self.reason)

    def check_timeout(self, now: float) -> None:
        """httpx's read timeout: at most ``read_timeout`` without a byte from the server."""
        if self.read_timeout is None or self.waiter is None or self.waiter.done():
            return
        if now - self.last_data >= self.read_timeout:
            self._fail(httpx.ReadTimeout("no answer from the server in time"))
            self.abort()


class FastTransport(httpx.AsyncBaseTransport):
    """Keep-alive HTTP/1.1 over asyncio, at most ``limits.max_connections`` connections.

    ``max_body`` bounds the bytes read of one answer: beyond it the answer is a ``ReadError``
    and its connection is closed (a broken or hostile server must not fill the memory).
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        limits: httpx.Limits | None = None,
        max_body: int = 32 * 1024 * 1024,
    ) -> None:
        limits = limits or httpx.Limits()
        self._ssl = ssl_context
        self._max = limits.max_connections or 100
        self._max_idle = (
            limits.max_keepalive_connections
            if limits.max_keepalive_connections is not None
            else self._max
        )
        self._expiry = limits.keepalive_expiry if limits.keepalive_expiry is not None else 5.0
        self._max_body = max_body
        self._idle: dict[_Key, list[_Connection]] = {}
        self._idle_total = 0
        #: connections open or being opened (a waiter handed a free slot counts here too)
        self._count = 0
        self._waiters: deque[tuple[_Key, asyncio.Future[_Connection | None]]] = deque()
        self._closed_transport = False
        #: Connections waiting for an answer, checked for their read timeout by one periodic
        #: sweep rather than a timer per request (two heap operations each, ~3 % of the CPU).
        self._busy: set[_Connection] = set()
        self._sweep_handle: asyncio.TimerHandle | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"unsupported scheme {scheme!r}", request=request)
        if scheme == "https" and self._ssl is None:
            raise httpx.UnsupportedProtocol("https needs an SSL context", request=request)
        key = (scheme, url.host, url.port or _DEFAULT_PORTS[scheme])
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        head, chunked = _head(request)
        try:
            body = request.content
        except httpx.RequestNotRead:  # a body given as a stream (api/_prebuilt.py, uploads)
            stream = request.stream
            if isinstance(stream, httpx.ByteStream):
                body = b"".join(stream)
            else:
                body = b"".join([chunk async for chunk in stream])  # type: ignore[union-attr]
        if chunked:
            body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n"
        conn = await self._acquire(key, timeouts.get("connect"), timeouts.get("pool"), request)
        try:
            response = await conn.exchange(
                head, body, timeouts.get("read"), self._max_body, request.method == "HEAD"
            )
        except BaseException:
            self._discard(conn, abort=True)
            raise
        if conn.keep_alive and conn.usable and not self._closed_transport:
            self._release(conn)
        else:
            self._discard(conn)
        return response

    async def aclose(self) -> None:
        self._closed_transport = True
        if self._sweep_handle is not None and not self._busy:  # in-flight ones keep theirs
            self._sweep_handle.cancel()
            self._sweep_handle = None
        closing = [conn for conns in self._idle.values() for conn in conns]
        for conn in closing:
            conn.state = "gone"
            conn.close()
            self._count -= 1
        self._idle.clear()
        self._idle_total = 0
        # A TLS connection closes only once the server answers our close_notify: wait for the
        # sockets, so a caller that ends its event loop next (``asyncio.run``: the CLI) does
        # not leave them open; a server that does not answer in time is cut off.
        pending = [conn.lost for conn in closing if not conn.lost.done()]
        if pending:
            _done, late = await asyncio.wait(pending, timeout=CLOSE_WAIT_S)
            if late:
                for conn in closing:
                    conn.abort()
                await asyncio.wait(late, timeout=CLOSE_WAIT_S)

    # -- read timeouts ----------------------------------------------------------------------

    def _watch(self, conn: _Connection) -> None:
        self._busy.add(conn)
        if self._sweep_handle is None:
            self._schedule_sweep(conn.loop)

    def _schedule_sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        # A timeout fires at most a quarter of itself (and at most 1 s) late.
        shortest = min((c.read_timeout or 1.0) for c in self._busy)
        self._sweep_handle = loop.call_later(min(1.0, max(0.01, shortest / 4)), self._sweep, loop)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        self._sweep_handle = None
        now = loop.time()
        for conn in list(self._busy):
            conn.check_timeout(now)
        if self._busy:
            self._schedule_sweep(loop)

    # -- the pool ----------------------------------------------------------------------------

    async def _acquire(
        self,
        key: _Key,
        connect_timeout: float | None,
        pool_timeout: float | None,
        request: httpx.Request,
    ) -> _Connection:
        if self._closed_transport:
            raise httpx.ConnectError("the client was closed", request=request)
        loop = asyncio.get_running_loop()
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            self._idle_total -= 1
            if conn.usable and loop.time() - conn.idle_since < self._expiry:
                conn.state = "busy"
                return conn
            conn.state = "gone"  # closed by the server, or kept too long to trust
            conn.close()
            self._free_slot()
        if self._count >= self._max and self._idle_total:
            self._close_one_idle()  # an idle connection to another origin gives way
        if self._count < self._max:
            self._count += 1
            return await self._connect(key, connect_timeout, request)
        waiter: asyncio.Future[_Connection | None] = loop.create_future()
        self._waiters.append((key, waiter))
        try:
            async with asyncio.timeout(pool_timeout):
                handed = await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self._give_back(waiter.result())  # handed over just as we gave up
            else:
                waiter.cancel()
            if isinstance(exc, TimeoutError):
                raise httpx.PoolTimeout("no free connection in time", request=request) from None
            raise
        if handed is not None:
            handed.state = "busy"
            return handed
        return await self._connect(key, connect_timeout, request)  # a slot, already counted

    async def _connect(
        self, key: _Key, connect_timeout: float | None, request: httpx.Request
    ) -> _Connection:
        """Open a connection in a slot already counted; the slot is freed if this fails."""
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        conn: _Connection | None = None
        try:
            async with asyncio.timeout(connect_timeout):
                _, conn = await loop.create_connection(
                    lambda: _Connection(self, key),
                    host,
                    port,
                    ssl=self._ssl if scheme == "https" else None,
                    server_hostname=host if scheme == "https" else None,
                )
        except BaseException as exc:
            if conn is not None:  # connected just as the time ran out: not ours to keep
                conn.abort()
            self._free_slot()
            if isinstance(exc, TimeoutError):
                raise httpx.ConnectTimeout(
                    f"could not connect to {host}", request=request
                ) from None
            if isinstance(exc, OSError):  # refused, unreachable, DNS, TLS (ssl.SSLError)
                raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
            raise
        return conn

    def _release(self, conn: _Connection) -> None:
        """A finished connection: to a waiter for its origin, else to the idle pool."""
        for i, (key, waiter) in enumerate(self._waiters):
            if key == conn.key and not waiter.done():
                del self._waiters[i]
                waiter.set_result(conn)
                return
        if self._waiters or self._idle_total >= self._max_idle:
            self._discard(conn)  # its slot goes to a waiter for another origin
            return
        conn.state = "idle"
        conn.idle_since = asyncio.get_running_loop().time()
        self._idle.setdefault(conn.key, []).append(conn)
        self._idle_total += 1

    def _discard(self, conn: _Connection, *, abort: bool = False) -> None:
        if conn.state == "gone":
            return
        if conn.state == "idle":
            self._idle[conn.key].remove(conn)
            self._idle_total -= 1
        conn.state = "gone"
        if abort:
            conn.abort()
        else:
            conn.close()
        self._free_slot()

    def _give_back(self, handed: _Connection | None) -> None:
        if handed is None:
            self._free_slot()
        else:
            self._release(handed)

    def _free_slot(self) -> None:
        """A slot became free: a waiter takes it (and connects), else the count drops."""
        while self._waiters:
            _, waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._count -= 1

    def _close_one_idle(self) -> None:
        for conns in self._idle.values():
            if conns:
                self._discard(conns[0])
                return

    def _closed(self, conn: _Connection) -> None:
        """The server (or we) closed ``conn``; an idle one leaves the pool at once."""
        if conn.state == "idle":
            self._discard(conn)


def _shortcut_holds() -> bool:
    """Whether a response built by the shortcut reads like one httpx read itself."""
    global _BODY_SHORTCUT
    body = b'{"a": "\xc3\xa9"}'
    headers = [(b"Content-Type", b"application/json; charset=utf-8")]
    _BODY_SHORTCUT = True
    try:
        ours = _response(200, headers, body, b"OK")
        theirs = httpx.Response(200, headers=headers, content=body)
        return (
            ours.content == theirs.content
            and ours.text == theirs.text
            and ours.json() == theirs.json()
            and ours.is_stream_consumed
            and ours.headers.raw == [(b"Content-Type", b"application/json; charset=utf-8")]
        )
    except Exception:
        return False


_BODY_SHORTCUT = False
_BODY_SHORTCUT = _shortcut_holds()
