"""An OpenAI-compatible API beside the chat: the same process, the same engine, the same login.

    GET  /v1/models              one model, "qa"
    POST /v1/chat/completions    the last user message is the question, earlier user/assistant turns the history
                                 (system messages ignored); "stream": true gives OpenAI's chunks as server-sent
                                 events ending with "data: [DONE]"
    POST /api/answer             {"question", "history", "k", "language"} -> what ``qa ask --json`` prints

The assistant message is the answer with its [n] markers and, under it, one line per citation (as the chat's
``/ask`` API gives it); the response (and the last stream chunk) also carries ``citations`` (number, source,
language, quote, quote_start, quote_end, start, end, text), ``found`` and ``reason``. A declined question is an
ordinary assistant message saying so, ``found`` false and ``reason`` why.

Access: with API keys (``QA_API_KEY``, comma-separated) a request needs ``Authorization: Bearer KEY``; with no key
but a chat login (``--auth``) it needs that user:password, as HTTP Basic or as ``Bearer user:password``; with
neither, the API is as open as the chat. Wrong keys and passwords are throttled per client like chat logins
(429 + Retry-After, see ``qa.ui.guard``).

Bounds: the body is read up to ``MAX_BODY`` bytes (413 beyond, before any parsing); the question and history go
through ``qa.answering.query``'s validators before any engine work (400 with an OpenAI-style error body); the engine runs
in worker threads, at most ``concurrency`` at a time, so the server's event loop never waits for it.

About 450 lines: three routes sharing one authentication, one set of input limits and one error shape.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import json
import logging
import re
import time
import uuid
from dataclasses import replace
from typing import Any, Awaitable, Callable

from qa import language as languages
from qa.compose import labelled
from qa.config import EXTRACTIVE, LLM, READERS
from qa.errors import ConfigError, EmptyQuestion, InvalidInput, QAError, QuestionTooLong
from qa.answering.query import validate_history, validate_k, validate_language, validate_question

from qa.ui.guard import Credentials, Throttle, client_key, read_body, retry_seconds

MODEL_ID = "qa"
MAX_BODY = 1024 * 1024  # bytes of JSON; a conversation longer than this is refused (413) before it is parsed
MAX_WAITING = 64  # requests waiting for an engine thread beyond the running ones; more get 503
INPUT_ERRORS = (EmptyQuestion, QuestionTooLong, InvalidInput, ConfigError)
CITATION_LINE = re.compile(r"^\[\d+\] .+ \([\w-]+\): ")
log = logging.getLogger("qa.api")


class APIError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        kind: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict | None = None,
    ):
        super().__init__(message)
        self.status, self.message, self.kind, self.code, self.param = status, message, kind, code, param
        self.headers = headers or {}

    def response(self):
        from starlette.responses import JSONResponse

        body = {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def parse_keys(keys) -> list[str]:
    """``QA_API_KEY``: one key, or several separated by commas (blanks ignored)."""
    if not keys:
        return []
    if isinstance(keys, str):
        keys = keys.split(",")
    return [k.strip() for k in keys if k and k.strip()]


class Access:
    """Who may call the API: a key (if any are set), else the chat's login (if set), else anyone."""

    def __init__(self, keys=None, credentials: Credentials | None = None, throttle: Throttle | None = None):
        self.keys = [k.encode("utf-8") for k in parse_keys(keys)]
        self.credentials = credentials
        self.throttle = throttle or Throttle()

    @property
    def mode(self) -> str:
        return "key" if self.keys else "login" if self.credentials else "open"

    def _denied(self, message: str, code: str) -> APIError:
        challenge = "Bearer" if self.keys else 'Basic realm="qa", charset="UTF-8"'
        return APIError(401, message, "invalid_request_error", code, headers={"WWW-Authenticate": challenge})

    def check(self, scope, authorization: str) -> None:
        """Return if the request may go on; else raise APIError (401, or 429 while the client is locked out)."""
        if self.mode == "open":
            return
        scheme, _, value = authorization.strip().partition(" ")
        scheme, value = scheme.lower(), value.strip()
        if not authorization.strip():
            if self.keys:
                raise self._denied(
                    "No API key: send it as 'Authorization: Bearer KEY' (QA_API_KEY on the server).", "missing_api_key"
                )
            raise self._denied(
                "This server needs the chat's login: HTTP Basic user:password, or "
                "'Authorization: Bearer user:password'.",
                "missing_credentials",
            )
        if self.keys:
            user, secret = None, value if scheme == "bearer" else ""
        else:
            user, secret = _user_password(scheme, value)
        key = client_key(scope, user)
        wait = self.throttle.retry_after(key)
        if wait:
            seconds = retry_seconds(wait)
            raise APIError(
                429,
                f"Too many failed attempts from this client. Try again in {seconds} s.",
                "rate_limit_error",
                "too_many_failures",
                headers={"Retry-After": str(seconds)},
            )
        if self.keys:
            given = secret.encode("utf-8", "surrogatepass")
            ok = False
            for k in self.keys:  # every key compared, in constant time
                ok |= hmac.compare_digest(given, k)
        else:
            assert self.credentials is not None  # mode "login"
            ok = user is not None and self.credentials(user, secret)
        if ok:
            self.throttle.succeeded(key)
            return
        self.throttle.failed(key)
        if self.keys:
            raise self._denied("Incorrect API key.", "invalid_api_key")
        raise self._denied("Incorrect user name or password.", "invalid_credentials")


def _user_password(scheme: str, value: str) -> tuple[str | None, str]:
    if scheme == "basic":
        try:
            value = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return "", ""
    elif scheme != "bearer":
        return "", ""
    user, sep, password = value.partition(":")
    return (user.strip(), password) if sep else ("", "")


def citation_dicts(answer) -> list[dict]:
    return [
        {
            "number": c.number,
            "source": c.source,
            "language": c.language,
            "quote": c.quote,
            "quote_start": c.quote_start,
            "quote_end": c.quote_end,
            "start": c.start,
            "end": c.end,
            "text": c.text,
        }
        for c in answer.citations
    ]


def message_text(answer) -> str:
    """The assistant message: the answer as the chat shows it, then one line per citation with its quote."""
    from qa.ui.app import answer_as_text

    return answer_as_text(replace(answer, text=labelled(answer)))


def _content(content) -> str:
    """A message's text: a string, or OpenAI's list of parts (the text parts joined)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    raise APIError(400, "A message's content must be text or a list of text parts.", param="messages")


def without_citation_lines(text: str) -> str:
    """An earlier answer as the chat keeps it: the citation lines this API added under it removed."""
    lines = text.split("\n")
    while len(lines) > 1 and CITATION_LINE.match(lines[-1]):
        lines.pop()
    return "\n".join(lines)


def split_messages(messages) -> tuple[str, list]:
    """OpenAI ``messages`` -> (question, history): the last user message, and the user/assistant turns before it."""
    if not isinstance(messages, list) or not messages:
        raise APIError(400, "messages must be a non-empty list of {role, content} objects.", param="messages")
    turns = []
    for m in messages:
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise APIError(400, "Each message must be an object with a role and content.", param="messages")
        if m["role"] in ("user", "assistant"):
            turns.append(m)
    last = max((i for i, m in enumerate(turns) if m["role"] == "user"), default=None)
    if last is None:
        raise APIError(400, "There is no user message to answer.", param="messages")
    question = _content(turns[last].get("content"))
    history = []
    for m in turns[:last]:
        text = _content(m.get("content"))
        history.append(
            {"role": m["role"], "content": without_citation_lines(text) if m["role"] == "assistant" else text}
        )
    return question, history


class API:
    """ASGI middleware: answers ``/v1/...`` and ``/api/answer`` itself; everything else goes on to Gradio."""

    def __init__(
        self,
        app,
        engine,
        access: Access,
        concurrency: int = 4,
        max_waiting: int = MAX_WAITING,
        max_body: int = MAX_BODY,
    ):
        self.app, self.engine, self.access = app, engine, access
        self.concurrency, self.max_waiting, self.max_body = concurrency, max_waiting, max_body
        self._limiter = None
        self.routes = {
            ("GET", "/v1/models"): self.models,
            ("POST", "/v1/chat/completions"): self.chat_completions,
            ("POST", "/api/answer"): self.answer,
        }

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (
            path == "/v1" or path.startswith("/v1/") or path.rstrip("/") == "/api/answer"
        ):
            await self.app(scope, receive, send)
            return
        from starlette.requests import Request

        request = Request(scope, receive)
        try:
            response = await self.dispatch(request, path.rstrip("/") or "/")
        except APIError as exc:
            response = exc.response()
        except Exception:  # never a traceback to the client
            log.exception("API request failed: %s %s", scope.get("method"), path)
            response = APIError(500, "The server failed to answer; see its log.", "server_error").response()
        await response(scope, receive, send)

    async def dispatch(self, request, path: str):
        method = request.method.upper()
        handler: Callable[..., Awaitable[Any]] | None = self.routes.get((method, path))
        model = None
        if handler is None and method == "GET" and path.startswith("/v1/models/"):
            handler, model = self.model, path[len("/v1/models/") :]
        if handler is None:
            known = [m for (m, p) in self.routes if p == path]
            if known:
                raise APIError(
                    405,
                    f"Use {' or '.join(known)} for {path}.",
                    code="method_not_allowed",
                    headers={"Allow": ", ".join(known)},
                )
            raise APIError(404, f"No such endpoint: {method} {path}.", code="not_found")
        self.access.check(request.scope, request.headers.get("authorization", ""))
        return await (handler(request, model) if model is not None else handler(request))

    # -- helpers -------------------------------------------------------------------------------------

    async def json_body(self, request) -> dict:
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > self.max_body:
            raise APIError(413, f"The request is larger than {self.max_body:,} bytes.", code="request_too_large")
        body = await read_body(request.receive, self.max_body)
        if body is None:
            raise APIError(413, f"The request is larger than {self.max_body:,} bytes.", code="request_too_large")
        try:
            data = json.loads(body or b"null")
        except (ValueError, UnicodeDecodeError):
            raise APIError(400, "The body is not valid JSON.", code="invalid_json") from None
        if not isinstance(data, dict):
            raise APIError(400, "The body must be a JSON object.", code="invalid_json")
        return data

    @property
    def limiter(self):
        if self._limiter is None:
            import anyio

            self._limiter = anyio.CapacityLimiter(self.concurrency)
        return self._limiter

    async def run(self, fn, *args, **kwargs):
        """``fn`` in a worker thread, at most ``concurrency`` at once; QAError subclasses become 400 / 503."""
        import anyio

        if self.limiter.statistics().tasks_waiting >= self.max_waiting:
            raise APIError(
                503, "The server is busy; try again shortly.", "server_error", "busy", headers={"Retry-After": "1"}
            )
        try:
            return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs), limiter=self.limiter)
        except INPUT_ERRORS as exc:
            raise APIError(400, str(exc), code=_code(exc)) from None
        except QAError as exc:
            raise APIError(503, str(exc), "server_error", _code(exc)) from None

    def options(self, body: dict) -> tuple[int, str | None, str]:
        """k, language and reader from a request body, checked before any work (400 if wrong)."""
        try:
            k = validate_k(body.get("k", 5))
            language = validate_language(body.get("language"), languages.codes())
        except INPUT_ERRORS as exc:
            raise APIError(400, str(exc), code=_code(exc)) from None
        reader = body.get("reader") or EXTRACTIVE
        if reader not in READERS:
            raise APIError(400, f"reader must be extractive or llm (got {reader!r}).", param="reader")
        if reader == LLM and not self.engine.llm_configured:
            raise APIError(
                400,
                "This server has no language model: only the extractive reader is available.",
                param="reader",
                code="reader_unavailable",
            )
        return k, language, reader

    @staticmethod
    def checked(question, history) -> tuple[str, list]:
        try:
            return validate_question(question), validate_history(history)
        except INPUT_ERRORS as exc:
            raise APIError(400, str(exc), code=_code(exc), param="messages") from None

    # -- endpoints -----------------------------------------------------------------------------------

    @staticmethod
    def _model() -> dict:
        return {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "qa"}

    async def models(self, request):
        from starlette.responses import JSONResponse

        return JSONResponse({"object": "list", "data": [self._model()]})

    async def model(self, request, name: str):
        from starlette.responses import JSONResponse

        if name != MODEL_ID:
            raise APIError(404, f"The model {name!r} does not exist; use {MODEL_ID!r}.", code="model_not_found")
        return JSONResponse(self._model())

    async def answer(self, request):
        from starlette.responses import Response

        body = await self.json_body(request)
        question, history = self.checked(body.get("question"), body.get("history"))
        k, language, reader = self.options(body)
        answer = await self.run(
            self.engine.answer, question, history=history or None, k=k, language=language, reader=reader
        )
        text = json.dumps(answer.to_dict(), ensure_ascii=False, indent=2) + "\n"  # as `qa ask --json` prints it
        return Response(text, media_type="application/json")

    async def chat_completions(self, request):
        from starlette.responses import JSONResponse, StreamingResponse

        body = await self.json_body(request)
        model = body.get("model", MODEL_ID)
        if model != MODEL_ID:
            raise APIError(
                404, f"The model {model!r} does not exist; use {MODEL_ID!r}.", param="model", code="model_not_found"
            )
        question, history = split_messages(body.get("messages"))
        question, history = self.checked(question, history)
        k, language, reader = self.options(body)
        answer = await self.run(
            self.engine.answer, question, history=history or None, k=k, language=language, reader=reader
        )
        content = message_text(answer)
        head = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "created": int(time.time()),
            "model": MODEL_ID,
            "system_fingerprint": None,
        }
        extra = {"citations": citation_dicts(answer), "found": answer.found, "reason": answer.reason}
        usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}  # tokens are not counted
        if body.get("stream") is not True:
            return JSONResponse(
                {
                    **head,
                    "object": "chat.completion",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": content, "refusal": None},
                            "logprobs": None,
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                    **extra,
                }
            )
        include_usage = (
            bool((body.get("stream_options") or {}).get("include_usage"))
            if isinstance(body.get("stream_options"), dict)
            else False
        )

        def chunk(delta: dict, finish=None, **more) -> str:
            data = {
                **head,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                **more,
            }
            return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

        async def events():
            yield chunk({"role": "assistant", "content": ""})
            words = [w for w in re.findall(r"\S*\s*", content) if w]
            step = max(1, len(words) // 12)
            for i in range(0, len(words), step):
                yield chunk({"content": "".join(words[i : i + step])})
            yield chunk({}, "stop", **extra)
            if include_usage:
                yield f"data: {json.dumps({**head, 'object': 'chat.completion.chunk', 'choices': [], 'usage': usage})}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )


def _code(exc: Exception) -> str:
    """QuestionTooLong -> question_too_long."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()
