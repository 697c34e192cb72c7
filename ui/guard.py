"""Login throttling that never blocks the server.

Failed logins are counted per client, a client being the pair (client address, user name): a stranger who
guesses Alice's password from one address locks out that address for that name, never Alice at her own
address, and never anyone else. After ``free_failures`` failures a client is refused at once (HTTP 429 with
``Retry-After``) for a time that doubles with every further failure, up to ``max_delay``; a success forgets
it. Nothing sleeps: a refused request costs a dictionary look-up.

``Throttle`` is the table (bounded, the oldest entries evicted); ``LoginThrottle`` is an ASGI middleware put
in front of Gradio's ``POST /login`` (it reads the address and the form's user name, answers 429 while that
client is locked out, and reads the outcome from Gradio's response); the API (``qa.ui.api``) records wrong
keys and wrong Basic logins in the same table.
"""

from __future__ import annotations

import hmac
import json
import math
import threading
import time
from collections import OrderedDict
from typing import Callable, Hashable

MAX_CLIENTS = 10_000  # entries kept; the oldest is evicted first
MAX_LOGIN_BODY = 16 * 1024  # a login form is a user name and a password
MAX_NAME_CHARS = 200  # a user name is cut to this length in the table's key


class Throttle:
    """Failures per client key, bounded; ``retry_after(key)`` says how long that client is still refused.

    After failure number ``n`` (``n >= free_failures``) the client is locked out for
    ``min(max_delay, base_delay * 2 ** (n - free_failures))`` seconds. A success forgets the client, and so
    does ``forget_after`` seconds without a failure.
    """

    def __init__(
        self,
        free_failures: int = 3,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        forget_after: float = 3600.0,
        max_clients: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.free_failures, self.base_delay, self.max_delay = free_failures, base_delay, max_delay
        self.forget_after, self.max_clients, self.clock = forget_after, max_clients, clock
        self._entries: OrderedDict[Hashable, list] = OrderedDict()  # key -> [failures, locked_until, last_failure]
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def delay_after(self, failures: int) -> float:
        """How long a client is locked out after its ``failures``-th failure in a row."""
        extra = failures - self.free_failures
        return 0.0 if extra < 0 else min(self.max_delay, self.base_delay * 2**extra)

    def _entry(self, key: Hashable, now: float):
        entry = self._entries.get(key)
        if entry is not None and now - entry[2] > self.forget_after and now >= entry[1]:
            del self._entries[key]
            return None
        return entry

    def retry_after(self, key: Hashable) -> float:
        """Seconds this client is still refused (0: it may try)."""
        with self._lock:
            now = self.clock()
            entry = self._entry(key, now)
            return 0.0 if entry is None else max(0.0, entry[1] - now)

    def failures(self, key: Hashable) -> int:
        with self._lock:
            entry = self._entry(key, self.clock())
            return 0 if entry is None else entry[0]

    def failed(self, key: Hashable) -> float:
        """Record a failure; returns the lock-out it starts (0 while failures are still free)."""
        with self._lock:
            now = self.clock()
            entry = self._entry(key, now) or [0, 0.0, now]
            entry[0] += 1
            delay = self.delay_after(entry[0])
            entry[1], entry[2] = (now + delay if delay else 0.0), now
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_clients:
                self._entries.popitem(last=False)
            return delay

    def succeeded(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)


def client_address(scope) -> str:
    """The client's address as the server sees it (uvicorn takes X-Forwarded-For only from a proxy on loopback)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def client_key(scope, user: str | None) -> tuple:
    """The throttle's key: the client address and the user name (None for an API key: the address alone)."""
    return (client_address(scope), None if user is None else str(user).strip()[:MAX_NAME_CHARS])


def retry_seconds(wait: float) -> int:
    return max(1, math.ceil(wait))


async def send_json(send, status: int, body: dict, headers: dict | None = None) -> None:
    """A whole JSON response, written straight to the ASGI ``send``."""
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    raw += [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data})


async def read_body(receive, limit: int) -> bytes | None:
    """The whole request body, or None as soon as it is longer than ``limit`` bytes."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive):
    """An ASGI ``receive`` that hands the already-read body on once, then defers to the real one."""
    sent = False

    async def again():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


async def form_username(scope, body: bytes) -> str:
    """The ``username`` field of a login form (urlencoded or multipart); "" if there is none."""
    from starlette.requests import Request

    async def nothing():
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(scope, replay(body, nothing)).form(max_files=0, max_fields=20)
        value = form.get("username")
        return value.strip() if isinstance(value, str) else ""
    except Exception:  # a malformed form: Gradio answers it (422); the attempt still counts
        return ""


class LoginThrottle:
    """ASGI middleware in front of ``POST /login``: per-client lock-out with 429 + Retry-After, no sleeping.

    Every admitted attempt is counted as a failure before Gradio checks it (so parallel guesses are counted
    too) and forgotten when Gradio answers 200. Everything else passes through untouched.
    """

    def __init__(self, app, throttle: Throttle, max_body: int = MAX_LOGIN_BODY):
        self.app, self.throttle, self.max_body = app, throttle, max_body

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path", "").rstrip("/") != "/login":
            await self.app(scope, receive, send)
            return
        body = await read_body(receive, self.max_body)
        if body is None:
            await send_json(send, 413, {"detail": "The login form is too large."})
            return
        key = client_key(scope, await form_username(scope, body))
        wait = self.throttle.retry_after(key)
        if wait:
            seconds = retry_seconds(wait)
            await send_json(
                send, 429, {"detail": f"Too many failed logins. Try again in {seconds} s."}, {"Retry-After": seconds}
            )
            return
        self.throttle.failed(key)
        status = {}

        async def watch(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, replay(body, receive), watch)
        if status.get("code") == 200:
            self.throttle.succeeded(key)


class Credentials:
    """The chat's one user:password, compared in constant time. Gradio calls it from ``/login`` (on its event
    loop, so it must never wait); the API checks HTTP Basic with it."""

    def __init__(self, user: str, password: str):
        self.user, self.password = user, password

    def __call__(self, user: str, password: str) -> bool:
        ok = hmac.compare_digest(
            str(user).encode("utf-8", "surrogatepass"), self.user.encode("utf-8")
        ) & hmac.compare_digest(str(password).encode("utf-8", "surrogatepass"), self.password.encode("utf-8"))
        return bool(ok)
