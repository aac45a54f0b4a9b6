"""Run the sandbox: in a background thread (tests, demo mode) or in the foreground (CLI).

`SandboxServer` binds the socket itself, so `port=0` yields a free port known before uvicorn
starts, then runs uvicorn on its own asyncio loop in a daemon thread. Nothing here touches the
caller's event loop, so it works next to qasync or pytest-asyncio alike.
"""

from __future__ import annotations

import base64
import importlib.util
import logging
import socket
import sys
import threading
import time
from types import TracebackType
from typing import Any, Self

import uvicorn

from gradient_desktop.hosts import is_loopback_host

from .app import create_app
from .options import SandboxOptions, add_arguments, options_from_args
from .seed import DEMO_PARTNERS, VENDOR_KEY, make_state
from .state import SandboxState

__all__ = [
    "SandboxOptions",
    "SandboxServer",
    "add_arguments",
    "options_from_args",
    "run_foreground",
]


def _http_impl() -> str:
    return "httptools" if importlib.util.find_spec("httptools") else "h11"


def _bind(host: str, port: int) -> socket.socket:
    family, kind, proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        if sys.platform != "win32":  # on Windows SO_REUSEADDR lets two servers share a port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(512)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class _QuietDroppedAnswers(logging.Filter):
    """uvicorn logs a traceback when an app ends a response short; the sandbox does that on
    purpose (``lose_answer_rate``), so those are not errors worth a page of stderr."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return exc is None or "declared Content-Length" not in str(exc)


logging.getLogger("uvicorn.error").addFilter(_QuietDroppedAnswers())


def _config(state: SandboxState, options: SandboxOptions) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(state, options),
        log_level="warning",
        access_log=False,
        lifespan="off",
        loop="asyncio",
        http=_http_impl(),
        timeout_graceful_shutdown=1,
    )


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class SandboxServer:
    """The sandbox on a real socket in a background thread; a context manager.

    >>> with SandboxServer(SandboxOptions(seed="demo")) as sb:  # doctest: +SKIP
    ...     httpx.get(sb.base_url + "/api/vendor-api", headers=...)
    """

    def __init__(
        self, options: SandboxOptions | None = None, state: SandboxState | None = None
    ) -> None:
        self.options = options or SandboxOptions()
        self.state = (
            state if state is not None else make_state(self.options.seed, self.options.random_seed)
        )
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._error: BaseException | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        if not self.port:
            raise RuntimeError("the sandbox server is not running")
        return _url(self.options.host, self.port)

    @property
    def lost_answers(self) -> int:
        """Answers lost on purpose so far (``lose_answer_rate``), for test reports."""
        if self._server is None:
            return 0
        app: Any = self._server.config.app  # create_app's Starlette app; uvicorn types any ASGI app
        return int(app.state.sandbox.faults.lost_answers)

    def start(self, timeout: float = 10.0) -> Self:
        """Bind, start serving and return once the socket accepts connections."""
        if self._thread is not None:
            raise RuntimeError("the sandbox server is already running")
        self._sock = _bind(self.options.host, self.options.port)
        self.port = self._sock.getsockname()[1]
        self._server = uvicorn.Server(_config(self.state, self.options))
        self._thread = threading.Thread(
            target=self._run, name=f"gradient-sandbox-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                self.stop()
                raise RuntimeError(f"the sandbox server failed to start: {self._error!r}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the sandbox server did not start within {timeout} s")
            time.sleep(0.005)
        return self

    def _run(self) -> None:
        assert self._server is not None and self._sock is not None
        try:
            # A fresh loop in this thread (uvicorn's run() -> asyncio.run); no signal handlers
            # are installed off the main thread, which is what we want here.
            self._server.run(sockets=[self._sock])
        except BaseException as exc:
            self._error = exc

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving; open keep-alive connections are closed, in-flight ones get ~1 s."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                assert self._server is not None
                self._server.force_exit = True
                self._thread.join(2.0)
        if self._sock is not None:
            self._sock.close()  # uvicorn closes it on a normal shutdown; harmless twice
        self._server = self._thread = self._sock = None
        self.port = 0

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def demo_token(partner_key: str, vendor_key: str = VENDOR_KEY) -> str:
    """The GRADIENT-TOKEN for a pair of keys (handy for curl)."""
    return base64.b64encode(f"{vendor_key}:{partner_key}".encode()).decode()


def run_foreground(options: SandboxOptions | None = None) -> int:
    """Serve in the current thread until Ctrl-C; prints the URL and the demo keys first."""
    options = options or SandboxOptions(port=8765)
    state = make_state(options.seed, options.random_seed)
    sock = _bind(options.host, options.port)
    port = sock.getsockname()[1]
    print(f"Gradient sandbox ({options.seed} seed) listening on {_url(options.host, port)}")
    print(f"  vendor key:   {VENDOR_KEY}")
    for key, (org, n) in DEMO_PARTNERS.items():
        print(f"  partner key:  {key:<24} {org} ({n} clients)  GRADIENT-TOKEN: {demo_token(key)}")
    print(f"  admin:        {_url(options.host, port)}/_sandbox/state")
    if not is_loopback_host(options.host):
        print(
            f"WARNING: listening on {options.host}, reachable from other machines. "
            + (
                "The /_sandbox/ admin routes need the X-Sandbox-Admin-Token header."
                if options.admin_token
                else "The /_sandbox/ admin routes are off: start with --admin-token to use them."
            ),
            flush=True,
        )
    print("Press Ctrl-C to stop.", flush=True)
    server = uvicorn.Server(_config(state, options))
    try:
        server.run(sockets=[sock])  # installs its own SIGINT/SIGTERM handling in the main thread
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0
