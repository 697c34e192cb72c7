"""A soak with faults (issue #24): the real server for N minutes under chat clients, CLI uploads and removes, a
CLI writer killed with kill -9 mid-add, a login flood and a hung language model; a report at the end.

    python bench/soak.py [--minutes 30] [--clients 4] [--embedder hashing:256] [--json PATH] [--keep]

The server is ``qa serve --auth user:pass --reader llm`` (a subprocess) over a temporary QA_HOME built from the
bundled corpus, QA_LLM pointing at a socket this script runs on loopback that accepts connections, reads the
requests and never answers (QA_LLM_TIMEOUT 5 s; QA_LLM_PAUSE 20 s so the model is tried again during a short
run). For ``--minutes`` these run at once:

- K chat clients (``--clients``) asking the bundled test questions (eval/test.jsonl: en, ru and uz mixed; a
  follow-up with its earlier question) in a loop, logged in, in turn through /v1/chat/completions (the openai
  client, ``Bearer user:pass``, streamed or not), /api/answer (httpx, HTTP Basic), gradio_client's /ask (the
  server's reader: llm) and the chat's own /chat endpoint (gradio_client, quote or written); about half of them
  ask for the written answer, so the hung model's ``timeout`` / ``busy`` / ``skipped`` paths run. Every answer
  must come back, with its quote, within QA_LLM_TIMEOUT + ``--grace`` seconds;
- about every minute (``--upload-every``; shorter for short runs) a generated news item with a unique made-up
  code ("Project KOMATI-4821") added with ``qa index add`` (a separate process on the same QA_HOME), checked
  visible at the server's next question; every third upload an earlier one removed (``qa index remove``),
  checked gone at the next question;
- ``--kills`` times, a batch of documents added by a CLI writer killed with kill -9 once its first batch is
  committed, then the same add re-run to completion (a second writer that finds the index locked retries);
- a login flood: bursts of 30 concurrent wrong logins on POST /login, alternately from another address
  (X-Forwarded-For, the real user's name) and from loopback under another name (400 and 429 expected); after
  each burst the real user logs in afresh (must be 200) and the flooder tries the API (401 or 429 expected);
- the server's RSS (/proc/PID/status VmRSS), threads and open files sampled every 2 s.

At the end: ``qa index list`` must list every document added and not removed (and the bundled ones), nothing
else; a question naming each one's code must cite it (with the hashing embedder, which declines everything
against the tuned thresholds, its top passage must be it); every removed one must be gone. The report
(Markdown on stdout; everything as JSON with --json PATH): errors per kind and whether expected, answer latency
p50/p95 and RSS per minute, whether RSS grows (mean of the last third against the second third), the final
check. Exit 1 if any unexpected error. Every subprocess and wait is bounded; the server and any CLI writer are
killed at the end, also on Ctrl-C; the temporary folder is removed unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from qa.answering.results import Status
from qa.config import offline_defaults

offline_defaults()
ROOT = Path(__file__).resolve().parent.parent
QA = [sys.executable, "-m", "qa.cli"]
QUESTIONS = ROOT / "eval" / "test.jsonl"
CHANNELS = ("openai", "api_answer", "gradio_ask", "gradio_chat")
WRITTEN_STATUSES = {s.value for s in Status} - {Status.WRITING}  # a final answer's: never "writing"
FLOOD_EXPECTED = (400, 401, 429)  # Gradio's wrong-password answer, the API's, the throttle's
FREE_FAILURES = 3  # qa.ui.guard.Throttle's default: a client is refused after this many failures
LOCKED = "Another qa process is writing"
CITATION_LINE = re.compile(r"^\[(\d+)\] (\S+) \(([\w-]+)\): ")
MARKER = re.compile(r"\[\d+\]")
PROGRESS = re.compile(r"indexing: (\d+)/(\d+) documents")


# -- generated documents ------------------------------------------------------------------------------

MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
MONTHS_RU_GEN = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
]
MONTHS_RU_PREP = [
    "январе",
    "феврале",
    "марте",
    "апреле",
    "мае",
    "июне",
    "июле",
    "августе",
    "сентябре",
    "октябре",
    "ноябре",
    "декабре",
]
MONTHS_UZ = [
    "yanvar",
    "fevral",
    "mart",
    "aprel",
    "may",
    "iyun",
    "iyul",
    "avgust",
    "sentabr",
    "oktabr",
    "noyabr",
    "dekabr",
]
CITIES = [
    ("Namangan", "Наманган", "Намангане", "Namangan"),
    ("Fergana", "Фергана", "Фергане", "Farg'ona"),
    ("Bukhara", "Бухара", "Бухаре", "Buxoro"),
    ("Khiva", "Хива", "Хиве", "Xiva"),
    ("Termez", "Термез", "Термезе", "Termiz"),
    ("Nukus", "Нукус", "Нукусе", "Nukus"),
]
FACILITIES = [
    ("water testing laboratory", "лабораторию анализа воды", "suv tahlili laboratoriyasini"),
    ("regional library", "областную библиотеку", "viloyat kutubxonasini"),
    ("vocational training centre", "центр профессионального обучения", "kasb-hunar markazini"),
    ("solar power station", "солнечную электростанцию", "quyosh elektr stansiyasini"),
    ("children's clinic", "детскую поликлинику", "bolalar poliklinikasini"),
]
MINISTRIES = [
    ("Ministry of Ecology", "Министерство экологии", "Ekologiya vazirligi"),
    ("Ministry of Health", "Министерство здравоохранения", "Sog'liqni saqlash vazirligi"),
    ("Ministry of Energy", "Министерство энергетики", "Energetika vazirligi"),
]
PEOPLE = [
    ("Dilnoza Karimova", "Дилнозы Каримовой"),
    ("Bekzod Rakhimov", "Бекзода Рахимова"),
    ("Malika Yusupova", "Малики Юсуповой"),
    ("Sardor Aliyev", "Сардора Алиева"),
]


@dataclass
class Doc:
    name: str
    code: str
    language: str
    text: str
    questions: list[str]
    origin: str  # "upload" or "batch N"


class DocFactory:
    """Short news-like items, each about a project with a code made up for it (unique in both of its parts)."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.used: set[str] = set()
        self.count = 0

    def code(self) -> str:
        while True:
            word = "".join(self.rng.choice("BKDGLMNPRSTVZ") + self.rng.choice("AEIOU") for _ in range(3))
            number = self.rng.randrange(4000, 10000)  # never a year of the corpus
            if word not in self.used and str(number) not in self.used:
                self.used.update((word, str(number)))
                return f"{word}-{number}"

    def make(self, language: str, prefix: str, origin: str) -> Doc:
        r, code = self.rng, self.code()
        self.count += 1
        city, facility, ministry, person = (
            r.choice(CITIES),
            r.choice(FACILITIES),
            r.choice(MINISTRIES),
            r.choice(PEOPLE),
        )
        day, month, month2 = r.randrange(1, 28), r.randrange(12), r.randrange(12)
        staff, villages = r.randrange(12, 90), r.randrange(20, 300)
        if language == "ru":
            text = (
                f"Проект {code} открывает {facility[1]} в {city[2]}\n\n"
                f"{city[1].upper()}, {day} {MONTHS_RU_GEN[month]} 2025 года. Областная администрация сообщила в "
                f"пятницу, что проект {code} в следующем месяце откроет {facility[1]} в {city[2]}. Проект "
                f"финансирует {ministry[1]}, в нём будут работать {staff} специалистов.\n\n"
                f"По словам руководителя проекта {person[1]}, проект {code} будет обслуживать {villages} сёл "
                f"региона. Первые результаты проекта {code} ожидаются в {MONTHS_RU_PREP[month2]} 2025 года.\n"
            )
            questions = [
                f"Что такое проект {code}?",
                f"Сколько специалистов будет работать в проекте {code}?",
                f"Кто руководит проектом {code}?",
            ]
        elif language == "uz":
            text = (
                f"{code} loyihasi {city[3]}da yangi {facility[2][:-2]} ochadi\n\n"
                f"{city[3].upper()}, 2025-yil {day}-{MONTHS_UZ[month]}. Viloyat hokimligi juma kuni {code} "
                f"loyihasi kelgusi oyda {city[3]}da {facility[2]} ochishini ma'lum qildi. Loyiha {ministry[2]} "
                f"tomonidan moliyalashtiriladi va unda {staff} nafar mutaxassis ishlaydi.\n\n"
                f"Loyiha rahbari {person[0]}ning so'zlariga ko'ra, {code} loyihasi viloyatdagi {villages} ta "
                f"qishloqqa xizmat ko'rsatadi. {code} loyihasining dastlabki natijalari 2025-yil "
                f"{MONTHS_UZ[month2]} oyida kutilmoqda.\n"
            )
            questions = [
                f"{code} loyihasi nima?",
                f"{code} loyihasida nechta mutaxassis ishlaydi?",
                f"{code} loyihasiga kim rahbarlik qiladi?",
            ]
        else:
            text = (
                f"Project {code} opens a {facility[0]} in {city[0]}\n\n"
                f"{city[0].upper()}, {day} {MONTHS_EN[month]} 2025. The regional administration announced on "
                f"Friday that Project {code} will open a {facility[0]} in {city[0]} next month. The project is "
                f"funded by the {ministry[0]} and will employ {staff} specialists.\n\n"
                f"According to the project director, {person[0]}, Project {code} will serve {villages} villages "
                f"in the region. The first results of Project {code} are expected in {MONTHS_EN[month2]} 2025.\n"
            )
            questions = [
                f"What is Project {code}?",
                f"How many specialists will Project {code} employ?",
                f"Who is the director of Project {code}?",
            ]
        name = f"{prefix}_{self.count:03d}_{code.lower()}.txt"
        return Doc(name, code, language, text, questions, origin)


# -- bookkeeping ----------------------------------------------------------------------------------------


class Record:
    """Everything the run observed: answers, errors per kind (expected or not, with a first example), events."""

    def __init__(self, t0: float):
        self.t0 = t0
        self.lock = threading.Lock()
        self.answers: list[dict] = []
        self.errors: Counter = Counter()  # (kind, expected) -> count
        self.examples: dict[tuple, str] = {}
        self.events: list[tuple[float, str]] = []
        self.counts: Counter = Counter()
        self.qualities: Counter = Counter()
        self.quality_examples: dict[str, str] = {}
        self.closed = False

    def now(self) -> float:
        return time.monotonic() - self.t0

    def error(self, kind: str, example: str = "", expected: bool = False, n: int = 1) -> None:
        if self.closed:  # the server is being stopped: what the clients see now is not the server's doing
            return
        with self.lock:
            self.errors[(kind, expected)] += n
            self.examples.setdefault((kind, expected), " ".join(str(example).split())[:240])
        if not expected:
            self.event(f"UNEXPECTED {kind}: {' '.join(str(example).split())[:160]}")

    def quality(self, kind: str, example: str = "") -> None:
        """An answer-quality observation: reported, not counted as an error of the server."""
        with self.lock:
            self.qualities[kind] += 1
            self.quality_examples.setdefault(kind, " ".join(str(example).split())[:240])

    def count(self, what: str, n: int = 1) -> None:
        with self.lock:
            self.counts[what] += n

    def event(self, text: str) -> None:
        with self.lock:
            self.events.append((round(self.now(), 1), text))
        print(f"[{self.now():7.1f}s] {text}", file=sys.stderr, flush=True)

    def answer(self, **row) -> None:
        with self.lock:
            self.answers.append({"t": round(self.now(), 2), **row})

    @property
    def unexpected(self) -> int:
        return sum(n for (kind, expected), n in self.errors.items() if not expected)


class Procs:
    """Every subprocess this script starts, each in its own process group, so all can be killed at the end."""

    def __init__(self):
        self.lock = threading.Lock()
        self.live: set[subprocess.Popen] = set()

    def popen(self, args, **kwargs) -> subprocess.Popen:
        proc = subprocess.Popen(args, start_new_session=True, **kwargs)
        with self.lock:
            self.live.add(proc)
        return proc

    def done(self, proc: subprocess.Popen) -> None:
        with self.lock:
            self.live.discard(proc)

    @staticmethod
    def kill(proc: subprocess.Popen, sig=signal.SIGKILL) -> None:
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def kill_all(self) -> None:
        with self.lock:
            live = list(self.live)
        for proc in live:
            self.kill(proc)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            self.done(proc)

    def run(self, args, env, timeout: float) -> tuple[int | str, str, str, float]:
        """Run to completion within ``timeout`` (then killed: return code "timeout")."""
        started = time.monotonic()
        proc = self.popen(
            args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL, cwd=ROOT
        )
        try:
            out, err = proc.communicate(timeout=timeout)
            rc: int | str = proc.returncode
        except subprocess.TimeoutExpired:
            self.kill(proc)
            out, err = proc.communicate(timeout=30)
            rc = "timeout"
        finally:
            self.done(proc)
        return rc, out or "", err or "", time.monotonic() - started


class HungModel:
    """An "OpenAI-compatible server" on loopback that accepts connections, reads what it is sent and never answers."""

    def __init__(self):
        import selectors

        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.sock, selectors.EVENT_READ)
        self.connections = 0
        self.bytes = 0
        self.max_open = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="hung-model", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import selectors

        while not self.stop.is_set():
            for key, _ in self.selector.select(timeout=0.5):
                if key.fileobj is self.sock:
                    try:
                        conn, _ = self.sock.accept()
                    except OSError:
                        continue
                    conn.setblocking(False)
                    self.selector.register(conn, selectors.EVENT_READ)
                    self.connections += 1
                    self.max_open = max(self.max_open, len(self.selector.get_map()) - 1)
                    continue
                try:
                    data = key.fileobj.recv(65536)
                except OSError:
                    data = b""
                if data:
                    self.bytes += len(data)
                else:  # the client gave up (its timeout): close our end
                    self.selector.unregister(key.fileobj)
                    key.fileobj.close()

    @property
    def open_now(self) -> int:
        return max(0, len(self.selector.get_map()) - 1)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        for key in list(self.selector.get_map().values()):
            try:
                key.fileobj.close()
            except OSError:
                pass
        self.selector.close()


# -- the run ------------------------------------------------------------------------------------------------


@dataclass
class Soak:
    args: argparse.Namespace
    work: Path
    procs: Procs
    record: Record = None
    env: dict = None
    url: str = ""
    server: subprocess.Popen = None
    hung: HungModel = None
    stop: threading.Event = field(default_factory=threading.Event)  # the load stops
    done: threading.Event = field(default_factory=threading.Event)  # the monitor stops
    present: dict = field(default_factory=dict)  # name -> Doc: added and not removed
    removed: dict = field(default_factory=dict)
    bundled: list = field(default_factory=list)
    factory: DocFactory = None
    samples: list = field(default_factory=list)  # (t, rss kB, threads, fds)
    kills: list = field(default_factory=list)
    uploads: list = field(default_factory=list)
    flood: list = field(default_factory=list)
    final: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def user(self) -> str:
        return self.args.auth.partition(":")[0]

    @property
    def password(self) -> str:
        return self.args.auth.partition(":")[2]

    @property
    def bound(self) -> float:
        """The longest an answer may take: the model's time limit and the grace."""
        return self.args.llm_timeout + self.args.grace

    @property
    def http_timeout(self) -> float:
        return max(30.0, 3 * self.bound)

    @property
    def duration(self) -> float:
        return self.args.minutes * 60

    @property
    def hashing(self) -> bool:
        return (self.args.embedder or "").startswith("hashing")

    def cli_env(self, **extra) -> dict:
        return dict(self.env, **{k: str(v) for k, v in extra.items()})

    def cli(self, *args, timeout: float = 300, **extra) -> tuple[int | str, str, str, float]:
        return self.procs.run(QA + list(args), self.cli_env(**extra), timeout)

    def write(self, args: list[str], what: str, give_up: float, timeout: float = 600, **extra) -> tuple[bool, str]:
        """A CLI write (add/remove); when another writer holds the index it is tried again (an expected refusal)."""
        pause = 2.0
        while True:
            rc, out, err, seconds = self.cli(*args, timeout=timeout, **extra)
            if rc == 0:
                return True, out
            if LOCKED in err:
                self.record.error(
                    f"`qa index {what}` found the index locked by another writer (tried again)",
                    err.strip().splitlines()[-1],
                    expected=True,
                )
                if time.monotonic() > give_up:
                    self.record.error(f"`qa index {what}` could not get the index within the time allowed", err)
                    return False, out
                time.sleep(pause)
                pause = min(15.0, pause * 2)
                continue
            tail = (err.strip().splitlines() or ["(no output)"])[-1]
            self.record.error(f"`qa index {what}` failed (exit {rc})", tail)
            return False, out

    def listed(self) -> tuple[set[str] | None, str]:
        rc, out, err, _ = self.cli("index", "list", timeout=300)
        if rc != 0:
            return None, (err.strip().splitlines() or [""])[-1]
        names = set()
        for line in out.splitlines()[1:]:
            if line.strip():
                names.add(line.split()[0])
        return names, ""

    def ask_api(self, client, question: str, reader: str = "extractive") -> dict:
        r = client.post(f"{self.url}/api/answer", json={"question": question, "reader": reader})
        if r.status_code != 200:
            raise RuntimeError(f"HTTP {r.status_code}: {r.text[:120]}")
        return r.json()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_questions() -> list[dict]:
    items = []
    for line in QUESTIONS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            items.append(
                {
                    "id": d.get("id", ""),
                    "lang": d.get("lang", ""),
                    "question": d["question"],
                    "history": list(d.get("history") or []),
                }
            )
    return items


# -- the chat clients -------------------------------------------------------------------------------------


class Outcome:
    def __init__(self, found: bool, citations: int, status: str = "", quote: bool = True):
        self.found, self.citations, self.status, self.quote = found, citations, status, quote


def via_openai(soak: Soak, client, item: dict, reader: str, stream: bool) -> Outcome:
    messages = [{"role": "user", "content": h} for h in item["history"]] + [
        {"role": "user", "content": item["question"]}
    ]
    extra = {"reader": reader} if reader == "llm" else {}
    if not stream:
        r = client.chat.completions.create(model="qa", messages=messages, extra_body=extra)
        content, more = r.choices[0].message.content or "", r.model_extra or {}
    else:
        pieces, more = [], {}
        with client.chat.completions.create(model="qa", messages=messages, extra_body=extra, stream=True) as events:
            for chunk in events:
                if chunk.choices:
                    pieces.append(chunk.choices[0].delta.content or "")
                    if chunk.choices[0].finish_reason:
                        more = chunk.model_extra or {}
        content = "".join(pieces)
    if "found" not in more:
        raise RuntimeError("no found/citations in the response")
    cited_lines = sum(1 for line in content.splitlines() if CITATION_LINE.match(line))
    citations = len(more.get("citations") or [])
    if citations != cited_lines:
        raise RuntimeError(f"{citations} citations but {cited_lines} citation lines in the message")
    return Outcome(bool(more["found"]), citations)


def via_api_answer(soak: Soak, client, item: dict, reader: str) -> Outcome:
    body = {"question": item["question"], "reader": reader}
    if item["history"]:
        body["history"] = item["history"]
    r = client.post(f"{soak.url}/api/answer", json=body)
    if r.status_code != 200:
        raise HTTPStatus(r.status_code, r.text)
    d = r.json()
    written = d.get("written") or {}
    status = written.get("status") or ""
    quote = True
    if reader == "llm" and d.get("found"):
        quote = bool(written.get("quote")) or d.get("reader") == "extractive"
        if status not in WRITTEN_STATUSES:
            raise RuntimeError(f"written status {status!r} in a final answer")
    return Outcome(bool(d.get("found")), len(d.get("citations") or []), status, quote)


def via_gradio_ask(soak: Soak, client, item: dict) -> Outcome:
    job = client.submit(item["question"], api_name="/ask")
    text = job.result(timeout=soak.http_timeout)
    if not isinstance(text, str) or not text:
        raise RuntimeError(f"/ask returned {type(text).__name__}")
    if text.startswith("Error:"):
        raise RuntimeError(text)
    lines = text.splitlines()
    cited = [line for line in lines if CITATION_LINE.match(line)]
    found = bool(MARKER.search(lines[0])) or bool(cited)
    return Outcome(found, len(cited))


def _last_assistant(chatbot) -> str:
    for message in reversed(chatbot or []):
        if isinstance(message, dict) and message.get("role") == "assistant":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
            return str(content or "")
    return ""


def via_gradio_chat(soak: Soak, client, item: dict, reader: str) -> Outcome:
    client.reset_session()  # a new conversation
    outcome = None
    for question in item["history"] + [item["question"]]:
        job = client.submit(question, 5, "", reader, api_name="/chat")
        out = job.result(timeout=soak.http_timeout)
        if not isinstance(out, (list, tuple)) or len(out) < 2:
            raise RuntimeError(f"/chat returned {str(out)[:80]}")
        text, sources = _last_assistant(out[0]), str(out[1])
        if text.startswith("⚠"):
            raise RuntimeError(f"the chat said: {text[:120]}")
        citations = sources.count("class='qa-source'")
        outcome = Outcome(bool(MARKER.search(text)) or citations > 0, citations)
    return outcome


class HTTPStatus(Exception):
    def __init__(self, status: int, text: str):
        super().__init__(f"HTTP {status}: {text[:160]}")
        self.status = status


def chat_client(soak: Soak, n: int, items: list[dict]) -> None:
    import httpx
    import openai

    rec, args = soak.record, soak.args
    rng = random.Random(args.seed * 1000 + n)
    items = items[:]
    rng.shuffle(items)
    oa = openai.OpenAI(
        base_url=f"{soak.url}/v1", api_key=f"{soak.user}:{soak.password}", max_retries=0, timeout=soak.http_timeout
    )
    hx = httpx.Client(auth=(soak.user, soak.password), timeout=soak.http_timeout)
    gr = None
    i = 0
    try:
        while not soak.stop.is_set():
            item = items[i % len(items)]
            channel = CHANNELS[(n + i) % len(CHANNELS)]
            i += 1
            reader = "llm" if rng.random() < args.llm_share else "extractive"
            label = channel
            if channel == "gradio_ask":
                reader = "llm"  # /ask answers with the server's reader: --reader llm
            if channel in ("gradio_ask", "gradio_chat") and gr is None:
                try:
                    from gradio_client import Client

                    gr = Client(
                        soak.url + "/",
                        auth=(soak.user, soak.password),
                        verbose=False,
                        httpx_kwargs={"timeout": soak.http_timeout},
                        download_files=False,
                        analytics_enabled=False,
                    )
                except Exception as exc:
                    rec.error(f"{channel}: gradio_client could not connect and log in ({type(exc).__name__})", exc)
                    soak.stop.wait(2)
                    continue
            stream = channel == "openai" and rng.random() < 0.5
            if stream:
                label = "openai stream"
            started = time.monotonic()
            try:
                if channel == "openai":
                    out = via_openai(soak, oa, item, reader, stream)
                elif channel == "api_answer":
                    out = via_api_answer(soak, hx, item, reader)
                elif channel == "gradio_ask":
                    out = via_gradio_ask(soak, gr, item)
                else:
                    out = via_gradio_chat(soak, gr, item, reader)
            except Exception as exc:
                seconds = time.monotonic() - started
                kind = _client_failure(exc)
                rec.error(f"{label}: {kind}", f"{item['id']} ({reader}, {seconds:.1f} s): {exc}")
                rec.answer(channel=label, reader=reader, seconds=round(seconds, 3), ok=False, found=None, status="")
                if "timeout" in kind and channel.startswith("gradio") and gr is not None:
                    gr = None  # a fresh client after a stuck one
                soak.stop.wait(1)
                continue
            seconds = time.monotonic() - started
            ok = True
            if out.found and out.citations == 0:
                rec.error(f"{label}: an answer without citations", f"{item['id']}: {item['question']}")
                ok = False
            if not out.quote:
                rec.error(f"{label}: a written-reader answer without its quote", item["id"])
                ok = False
            if seconds > soak.bound:
                rec.error(
                    f"{label}: answer slower than QA_LLM_TIMEOUT + grace ({soak.bound:g} s)",
                    f"{item['id']} ({reader}): {seconds:.1f} s",
                )
                ok = False
            rec.answer(
                channel=label, reader=reader, seconds=round(seconds, 3), ok=ok, found=out.found, status=out.status
            )
            soak.stop.wait(rng.uniform(0, 2 * args.think))
    finally:
        hx.close()
        oa.close()
        if gr is not None:
            try:
                gr.close()
            except Exception:
                pass


def _client_failure(exc: Exception) -> str:
    import httpx
    import openai

    if isinstance(exc, HTTPStatus):
        return f"HTTP {exc.status}"
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}"
    if isinstance(exc, (openai.APITimeoutError, httpx.TimeoutException, TimeoutError)):
        return "client timeout"
    try:
        from concurrent.futures import TimeoutError as FutureTimeout

        if isinstance(exc, FutureTimeout):
            return "client timeout"
    except ImportError:  # pragma: no cover
        pass
    return f"exception {type(exc).__name__}"


# -- uploads, removes, the killed writer ----------------------------------------------------------------


GENERATED = re.compile(r"^(upload|batch\d+)_\d{3}_")


def other_generated(answer: dict, name: str) -> list[str]:
    """Generated documents other than ``name`` that an answer to a question naming ``name``'s code cites."""
    return sorted(
        {c["source"] for c in answer.get("citations") or [] if c["source"] != name and GENERATED.match(c["source"])}
    )


def seen(answer: dict, name: str) -> tuple[bool, bool, bool]:
    """(cited, first passage, in the passages) for a document in an /api/answer response."""
    cited = any(c["source"] == name for c in answer.get("citations") or [])
    passages = [p["source"] for p in answer.get("passages") or []]
    return cited, bool(passages) and passages[0] == name, name in passages


def uploader(soak: Soak) -> None:
    import httpx

    rec, args = soak.record, soak.args
    languages = ["en", "ru", "uz"]
    # A new connection per check: this client is idle about as long as the server keeps a connection alive (5 s),
    # and a request sent on one the server is closing meets "Connection reset by peer" (seen once, in a fresh-clone test run).
    hx = httpx.Client(
        auth=(soak.user, soak.password),
        timeout=soak.http_timeout,
        limits=httpx.Limits(max_keepalive_connections=0),
    )
    folder = soak.work / "uploads"
    folder.mkdir(exist_ok=True)
    mine: list[str] = []
    n = 0
    next_at = time.monotonic() + min(args.upload_every / 2, 10)
    try:
        while not soak.stop.wait(max(0.0, next_at - time.monotonic())):
            next_at += args.upload_every
            doc = soak.factory.make(languages[n % 3], "upload", "upload")
            n += 1
            path = folder / doc.name
            path.write_text(doc.text, encoding="utf-8")
            started = time.monotonic()
            ok, _ = soak.write(["index", "add", str(path)], "add (upload)", give_up=started + 300)
            row = {
                "t": round(rec.now(), 1),
                "op": "add",
                "name": doc.name,
                "ok": ok,
                "seconds": round(time.monotonic() - started, 1),
            }
            if ok:
                with soak.lock:
                    soak.present[doc.name] = doc
                mine.append(doc.name)
                try:
                    a = soak.ask_api(hx, doc.questions[0])
                    cited, first, among = seen(a, doc.name)
                    row.update(visible=among, cited=cited)
                    if not among:
                        rec.error(
                            "a document added by the CLI is not seen at the server's next question",
                            f"{doc.name}: {doc.questions[0]}",
                        )
                except Exception as exc:
                    rec.error(f"upload check: exception {type(exc).__name__}", exc)
            soak.uploads.append(row)
            rec.event(
                f"upload {doc.name}: {'ok' if ok else 'FAILED'} in {row['seconds']} s"
                + (f", seen at the next question: {row.get('visible')}" if ok else "")
            )
            if n % 3 == 0 and len(mine) > 1:  # remove an earlier one
                name = mine.pop(0)
                started = time.monotonic()
                ok, _ = soak.write(["index", "remove", name], "remove", give_up=started + 300)
                row = {
                    "t": round(rec.now(), 1),
                    "op": "remove",
                    "name": name,
                    "ok": ok,
                    "seconds": round(time.monotonic() - started, 1),
                }
                if ok:
                    with soak.lock:
                        soak.removed[name] = soak.present.pop(name)
                    try:
                        a = soak.ask_api(hx, soak.removed[name].questions[0])
                        cited, first, among = seen(a, name)
                        row.update(gone=not among)
                        if among:
                            rec.error("a document removed by the CLI is still served at the next question", name)
                    except Exception as exc:
                        rec.error(f"remove check: exception {type(exc).__name__}", exc)
                soak.uploads.append(row)
                rec.event(f"remove {name}: {'ok' if ok else 'FAILED'}, gone at the next question: {row.get('gone')}")
    finally:
        hx.close()


def killed_add(soak: Soak, folder: Path, total: int, give_up: float) -> dict:
    """``qa index add FOLDER`` killed with kill -9 as soon as it reports a committed batch (not the last)."""
    import queue

    rec = soak.record
    env = soak.cli_env(QA_BATCH_DOCUMENTS=soak.args.batch_size, QA_PROGRESS_SECONDS="0.3")
    while True:
        started = time.monotonic()
        proc = soak.procs.popen(
            QA + ["index", "add", str(folder)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
        )
        lines: queue.Queue = queue.Queue()

        def pump():
            for line in proc.stderr:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        result = {"killed": False, "committed_reported": 0}
        seen_text = []
        limit = started + 600
        while True:
            try:
                line = lines.get(timeout=max(0.1, limit - time.monotonic()))
            except queue.Empty:  # no committed batch reported in time: killed anyway, wherever it is
                soak.procs.kill(proc)
                result.update(killed=True, note="no committed batch reported within 600 s; killed anyway")
                break
            if line is None:  # the add ended by itself
                break
            seen_text.append(line)
            m = PROGRESS.search(line)
            if m and 0 < int(m.group(1)) < int(m.group(2)):
                soak.procs.kill(proc)  # kill -9, mid-add
                result.update(killed=True, committed_reported=int(m.group(1)))
                break
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            soak.procs.kill(proc)
            proc.wait(timeout=30)
        soak.procs.done(proc)
        result["seconds"] = round(time.monotonic() - started, 1)
        result["exit"] = proc.returncode
        text = "".join(seen_text)
        if not result["killed"] and LOCKED in text and time.monotonic() < give_up:
            rec.error(
                "`qa index add` (batch) found the index locked by another writer (tried again)", LOCKED, expected=True
            )
            time.sleep(3)
            continue
        if not result["killed"]:
            result["note"] = "the add ended before a batch was reported: not killed mid-add"
            if proc.returncode != 0:
                rec.error(
                    f"the batch add failed before it could be killed (exit {proc.returncode})",
                    (text.strip().splitlines() or [""])[-1],
                )
        return result


def killer(soak: Soak) -> None:
    rec, args = soak.record, soak.args
    t0 = time.monotonic()
    languages = ["en", "ru", "uz"]
    for j in range(args.kills):
        at = t0 + soak.duration * (j + 1) / (args.kills + 1)
        if soak.stop.wait(max(0.0, at - time.monotonic())):
            for k in range(j, args.kills):
                soak.kills.append(
                    {
                        "batch": k + 1,
                        "skipped": "the load ended before it could start (the writer before it was still running)",
                    }
                )
            return
        folder = soak.work / f"batch{j + 1}"
        folder.mkdir()
        docs = [soak.factory.make(languages[i % 3], f"batch{j + 1}", f"batch {j + 1}") for i in range(args.batch_docs)]
        for d in docs:
            (folder / d.name).write_text(d.text, encoding="utf-8")
        names = {d.name for d in docs}
        rec.event(
            f"batch {j + 1}: `qa index add` of {len(docs)} documents (batches of {args.batch_size}), "
            "to be killed with kill -9 mid-add"
        )
        give_up = time.monotonic() + 600
        row = killed_add(soak, folder, len(docs), give_up)
        row["batch"] = j + 1
        row["documents"] = len(docs)
        after, why = soak.listed()
        if after is None:
            rec.error("`qa index list` failed after the kill -9", why)
        else:
            committed = after & names
            row["listed_after_kill"] = len(committed)
            stray = after - names - set(soak.bundled) - set(soak.present) - set(soak.removed)
            if stray:
                rec.error("documents listed after the kill that no one added", sorted(stray)[:3])
        rec.event(
            f"batch {j + 1}: killed={row['killed']} after {row['seconds']} s, "
            f"{row.get('listed_after_kill')} of {len(docs)} listed; running the same add again"
        )
        started = time.monotonic()
        ok, out = soak.write(
            ["index", "add", str(folder)],
            "add (the killed batch, again)",
            give_up=started + 600,
            timeout=900,
            QA_BATCH_DOCUMENTS=args.batch_size,
        )
        row["rerun_ok"], row["rerun_seconds"] = ok, round(time.monotonic() - started, 1)
        row["rerun_added"] = sum(1 for line in out.splitlines() if line.startswith("added"))
        row["rerun_unchanged"] = sum(1 for line in out.splitlines() if line.startswith("unchanged"))
        after, why = soak.listed()
        row["listed_after_rerun"] = len(after & names) if after is not None else None
        if ok:
            with soak.lock:
                soak.present.update({d.name: d for d in docs})
            if after is not None and not names <= after:
                rec.error(
                    "the re-run add completed but not every document of the batch is listed",
                    f"{len(names - after)} missing",
                )
            if row["rerun_added"] + row["rerun_unchanged"] != len(docs):
                rec.error(
                    "the re-run add did not report every document once (added + unchanged)",
                    f"added {row['rerun_added']}, unchanged {row['rerun_unchanged']} of {len(docs)}",
                )
        soak.kills.append(row)
        rec.event(
            f"batch {j + 1}: re-run {'ok' if ok else 'FAILED'} in {row['rerun_seconds']} s "
            f"(added {row['rerun_added']}, unchanged {row['rerun_unchanged']}); "
            f"{row['listed_after_rerun']} of {len(docs)} listed"
        )


# -- the login flood --------------------------------------------------------------------------------------


async def _burst(url: str, user: str, headers: dict, n: int) -> list:
    import httpx

    async with httpx.AsyncClient(timeout=30, headers=headers) as c:

        async def one(i):
            try:
                r = await c.post(f"{url}/login", data={"username": user, "password": f"guess-{i}-{random.random()}"})
                return r.status_code
            except Exception as exc:
                return f"exception {type(exc).__name__}"

        return await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(n))), timeout=60)


def flooder(soak: Soak) -> None:
    import httpx

    rec, args = soak.record, soak.args
    rng = random.Random(args.seed + 7)
    identities = [
        (
            "another address (X-Forwarded-For 203.0.113.7), the real user name",
            {"X-Forwarded-For": "203.0.113.7"},
            soak.user,
        ),
        ("loopback, user name 'admin'", {}, "admin"),
    ]
    burst = 0
    while not soak.stop.wait(rng.uniform(0.6, 1.4) * args.flood_every if burst else 3):
        label, headers, user = identities[burst % 2]
        burst += 1
        started = time.monotonic()
        try:
            codes = asyncio.run(_burst(soak.url, user, headers, args.flood_size))
        except Exception as exc:
            rec.error(f"login flood: exception {type(exc).__name__}", exc)
            continue
        seconds = time.monotonic() - started
        tally = Counter(codes)
        for code, k in tally.items():
            rec.error(f"login flood: {code} on POST /login", f"{label}", expected=code in FLOOD_EXPECTED, n=k)
            rec.count(f"flood {code}", k)
        admitted = sum(k for code, k in tally.items() if code != 429)
        row = {
            "t": round(rec.now(), 1),
            "burst": burst,
            "from": label,
            "codes": dict(tally),
            "seconds": round(seconds, 2),
        }
        if burst <= 2 and admitted > FREE_FAILURES:
            rec.error(
                "login flood: more wrong logins let through than the free failures in a first burst",
                f"{admitted} of {args.flood_size} ({label})",
            )
        # The real user logs in afresh from loopback, right after the burst; the flooder tries the API.
        try:
            with httpx.Client(timeout=30) as real, httpx.Client(timeout=30, headers=headers) as c:
                t = time.monotonic()
                r = real.post(f"{soak.url}/login", data={"username": soak.user, "password": soak.password})
                row["real_login"], row["real_login_s"] = r.status_code, round(time.monotonic() - t, 3)
                if r.status_code != 200:
                    rec.error(f"the real user's login during the flood: HTTP {r.status_code}", label)
                a = c.post(
                    f"{soak.url}/api/answer",
                    json={"question": "Who founded the IIJ?"},
                    auth=(user, "wrong-" + str(burst)),
                )
                row["api_wrong_password"] = a.status_code
                rec.error(
                    f"login flood: {a.status_code} on /api/answer with a wrong password",
                    label,
                    expected=a.status_code in (401, 429),
                )
        except Exception as exc:
            rec.error(f"login flood follow-up: exception {type(exc).__name__}", exc)
        soak.flood.append(row)
        rec.event(
            f"flood burst {burst} from {label}: {dict(tally)} in {seconds:.2f} s; real login "
            f"{row.get('real_login')} in {row.get('real_login_s')} s; API wrong password "
            f"{row.get('api_wrong_password')}"
        )


# -- the monitor --------------------------------------------------------------------------------------------


def proc_status(pid: int) -> tuple[int, int]:
    rss = threads = 0
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss, threads


def monitor(soak: Soak) -> None:
    rec = soak.record
    while not soak.done.wait(2):
        if soak.server.poll() is not None:
            rec.error("the server process exited", f"exit code {soak.server.returncode}")
            soak.stop.set()
            return
        try:
            rss, threads = proc_status(soak.server.pid)
            fds = len(os.listdir(f"/proc/{soak.server.pid}/fd"))
        except (OSError, ValueError):
            continue
        soak.samples.append((round(rec.now(), 1), rss, threads, fds, soak.hung.open_now))


# -- start, run, check, report ---------------------------------------------------------------------------------


def start_server(soak: Soak) -> None:
    import httpx

    port = free_port()
    soak.url = f"http://127.0.0.1:{port}"
    log = open(soak.work / "server.log", "wb")
    soak.server = soak.procs.popen(
        QA + ["serve", "--host", "127.0.0.1", "--port", str(port), "--auth", soak.args.auth, "--reader", "llm"],
        env=soak.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
    )
    log.close()
    limit = time.monotonic() + 600
    while time.monotonic() < limit:
        if soak.server.poll() is not None:
            raise RuntimeError(f"the server exited at start (code {soak.server.returncode}):\n" + server_log_tail(soak))
        try:
            r = httpx.get(f"{soak.url}/v1/models", auth=(soak.user, soak.password), timeout=5)
            if r.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the server did not answer within 600 s:\n" + server_log_tail(soak))


def server_log_tail(soak: Soak, n: int = 15) -> str:
    try:
        return "\n".join((soak.work / "server.log").read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def server_tracebacks(soak: Soak) -> list[str]:
    """The last line of every traceback in the server's log (what was raised)."""
    try:
        lines = (soak.work / "server.log").read_text(errors="replace").splitlines()
    except OSError:
        return []
    found, inside = [], False
    for i, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last)"):
            inside = True
            continue
        if (
            inside
            and line
            and not line.startswith((" ", "\t"))
            and not line.startswith("Traceback")
            and not line.startswith("The above exception")
            and not line.startswith("During handling")
        ):
            found.append(line[:200])
            inside = False
    return found


def final_check(soak: Soak) -> None:
    import httpx

    rec = soak.record
    listed, why = soak.listed()
    expected = set(soak.bundled) | set(soak.present)
    result = {"listed": None if listed is None else len(listed), "expected": len(expected)}
    if listed is None:
        rec.error("final `qa index list` failed", why)
        listed = set()
    missing = sorted(expected - listed)
    still = sorted(set(soak.removed) & listed)
    extra = sorted(listed - expected - set(soak.removed))
    result.update(missing=missing, removed_still_listed=still, extra=extra)
    if missing:
        rec.error("final: added documents not listed", f"{len(missing)}: {missing[:3]}")
    if still:
        rec.error("final: removed documents still listed", still[:3])
    if extra:
        rec.error("final: listed documents no one added", extra[:3])
    cited = first = 0
    not_found, removed_served = [], []
    with httpx.Client(auth=(soak.user, soak.password), timeout=soak.http_timeout) as hx:
        for name, doc in sorted(soak.present.items()):
            ok_cited = ok_first = False
            for question in doc.questions:
                try:
                    a = soak.ask_api(hx, question)
                except Exception as exc:
                    rec.error(f"final question: exception {type(exc).__name__}", exc)
                    continue
                c, f, _ = seen(a, name)
                others = other_generated(a, name)
                if others:
                    rec.quality(
                        f"an answer to a question naming one project's code also cites another project's "
                        f"document (reason {a.get('reason')}, disagree={a.get('disagree')})",
                        f"{question} -> {name} + {others[0]}",
                    )
                ok_cited |= c
                ok_first |= f
                if c:
                    break
            cited += ok_cited
            first += ok_first
            if not (ok_cited or (soak.hashing and ok_first)):
                not_found.append(name)
        for name, doc in sorted(soak.removed.items()):
            for question in doc.questions[:2]:
                try:
                    a = soak.ask_api(hx, question)
                except Exception as exc:
                    rec.error(f"final question: exception {type(exc).__name__}", exc)
                    continue
                if any(seen(a, name)):
                    removed_served.append(name)
                    break
    result.update(
        present=len(soak.present),
        cited=cited,
        first_passage=first,
        not_found=not_found,
        removed=len(soak.removed),
        removed_served=removed_served,
    )
    if not_found:
        rec.error(
            "final: a document added and not removed is not found by a question naming its code"
            + (" (hashing: not even the top passage)" if soak.hashing else ""),
            f"{len(not_found)}: {not_found[:3]}",
        )
    if removed_served:
        rec.error("final: a removed document is still cited or retrieved", removed_served[:3])
    # The chat's Documents tab (the server's own list) after those questions.
    try:
        from gradio_client import Client

        gr = Client(
            soak.url + "/",
            auth=(soak.user, soak.password),
            verbose=False,
            httpx_kwargs={"timeout": soak.http_timeout},
            download_files=False,
            analytics_enabled=False,
        )
        table = gr.submit(api_name="/documents_table").result(timeout=soak.http_timeout)
        rows = table.get("data", []) if isinstance(table, dict) else []
        server_names = {str(r[0]) for r in rows}
        result["server_lists"] = len(server_names)
        if server_names != listed:
            rec.error(
                "final: the chat's document list differs from `qa index list`",
                f"server {len(server_names)}, CLI {len(listed)}; only on the server: "
                f"{sorted(server_names - listed)[:2]}, only in the CLI: {sorted(listed - server_names)[:2]}",
            )
        gr.close()
    except Exception as exc:
        rec.error(f"final: the chat's document list could not be read ({type(exc).__name__})", exc)
    soak.final = result


def stop_server(soak: Soak) -> None:
    if soak.server is None or soak.server.poll() is not None:
        return
    Procs.kill(soak.server, signal.SIGTERM)
    try:
        soak.server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        Procs.kill(soak.server)
        try:
            soak.server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def percentile(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def summarize(soak: Soak, interrupted: bool) -> dict:
    rec = soak.record
    minutes = max(1, int(-(-soak.duration // 60)))
    per_minute = []
    for m in range(minutes + 1):
        rows = [a for a in rec.answers if m * 60 <= a["t"] < (m + 1) * 60]
        samples = [s for s in soak.samples if m * 60 <= s[0] < (m + 1) * 60]
        if not rows and not samples:
            continue
        ok = [a["seconds"] for a in rows if a["ok"]]
        llm = [a["seconds"] for a in rows if a["ok"] and a["reader"] == "llm"]
        per_minute.append(
            {
                "minute": m + 1,
                "after_load": m * 60 >= soak.duration,
                "answers": len(rows),
                "failed": sum(1 for a in rows if not a["ok"]),
                "p50": percentile(ok, 0.5),
                "p95": percentile(ok, 0.95),
                "max": max(ok) if ok else float("nan"),
                "llm_p95": percentile(llm, 0.95),
                "rss_mb": round(sum(s[1] for s in samples) / len(samples) / 1024, 1) if samples else None,
                "rss_max_mb": round(max(s[1] for s in samples) / 1024, 1) if samples else None,
                "threads": max(s[2] for s in samples) if samples else None,
                "fds": max(s[3] for s in samples) if samples else None,
            }
        )
    load = [s for s in soak.samples if s[0] <= soak.duration]
    third = len(load) // 3
    growth = {}
    if third >= 2:
        second = sum(s[1] for s in load[third : 2 * third]) / third / 1024
        last = sum(s[1] for s in load[2 * third :]) / len(load[2 * third :]) / 1024
        change = (last - second) / second * 100
        growth = {
            "second_third_mb": round(second, 1),
            "last_third_mb": round(last, 1),
            "change_pct": round(change, 1),
            "grows": last > second * 1.05 and last - second > 20,
        }
    statuses = Counter(a["status"] for a in rec.answers if a["status"])
    channels = Counter(a["channel"] for a in rec.answers)
    readers = Counter(a["reader"] for a in rec.answers)
    tracebacks = server_tracebacks(soak)
    rec.closed = False
    if tracebacks:
        for line in tracebacks:
            rec.error("traceback in the server's log", line)
    errors = [
        {"kind": kind, "expected": expected, "count": n, "example": rec.examples.get((kind, expected), "")}
        for (kind, expected), n in sorted(rec.errors.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    ]
    ok = [a["seconds"] for a in rec.answers if a["ok"]]
    quality = [{"kind": k, "count": n, "example": rec.quality_examples.get(k, "")} for k, n in rec.qualities.items()]
    return {
        "config": {
            "minutes": soak.args.minutes,
            "clients": soak.args.clients,
            "embedder": soak.args.embedder or "default (e5-small)",
            "auth": soak.user + ":***",
            "llm": f"hung model on 127.0.0.1:{soak.hung.port if soak.hung else '?'}",
            "llm_timeout": soak.args.llm_timeout,
            "llm_pause": soak.args.llm_pause,
            "grace": soak.args.grace,
            "bound_s": soak.bound,
            "upload_every": soak.args.upload_every,
            "kills": soak.args.kills,
            "batch_docs": soak.args.batch_docs,
            "batch_size": soak.args.batch_size,
            "flood_every": soak.args.flood_every,
            "seed": soak.args.seed,
            "interrupted": interrupted,
        },
        "answers": len(rec.answers),
        "answered_ok": len(ok),
        "p50": percentile(ok, 0.5),
        "p95": percentile(ok, 0.95),
        "max": max(ok) if ok else None,
        "channels": dict(channels),
        "readers": dict(readers),
        "written_status": dict(statuses),
        "found": sum(1 for a in rec.answers if a["found"]),
        "errors": errors,
        "unexpected": rec.unexpected,
        "quality": quality,
        "per_minute": per_minute,
        "rss_growth": growth,
        "hung_model": {
            "connections": soak.hung.connections if soak.hung else 0,
            "bytes_read": soak.hung.bytes if soak.hung else 0,
            "max_open": soak.hung.max_open if soak.hung else 0,
        },
        "uploads": soak.uploads,
        "kills": soak.kills,
        "flood": soak.flood,
        "final": soak.final,
        "server_tracebacks": tracebacks,
        "events": rec.events,
        "samples": soak.samples,
    }


def fmt(x, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "–"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def markdown(report: dict) -> str:
    c = report["config"]
    out = [
        f"## Soak: {c['minutes']:g} min, {c['clients']} chat clients, embedder {c['embedder']}"
        + (" (INTERRUPTED)" if c["interrupted"] else ""),
        "",
    ]
    out.append(
        f"Answers: {report['answers']} ({report['answered_ok']} ok; found {report['found']}), "
        f"p50 {fmt(report['p50'])} s, p95 {fmt(report['p95'])} s, max {fmt(report['max'])} s "
        f"(bound {c['bound_s']:g} s = QA_LLM_TIMEOUT {c['llm_timeout']:g} + grace {c['grace']:g})."
    )
    out.append(
        "By channel: "
        + ", ".join(f"{k} {v}" for k, v in sorted(report["channels"].items()))
        + "; by reader: "
        + ", ".join(f"{k} {v}" for k, v in sorted(report["readers"].items()))
        + "."
    )
    out.append(
        "Written-answer status (/api/answer): "
        + (", ".join(f"{k} {v}" for k, v in sorted(report["written_status"].items())) or "none reached the model")
        + f"; the hung model got {report['hung_model']['connections']} connections "
        f"(at most {report['hung_model']['max_open']} open at once)."
    )
    out += ["", "### Errors per kind", "", "| kind | expected | count | first example |", "|---|---|---|---|"]
    for e in report["errors"]:
        out.append(
            f"| {e['kind']} | {'yes' if e['expected'] else '**no**'} | {e['count']} | "
            f"{e['example'].replace('|', '/')[:150]} |"
        )
    if not report["errors"]:
        out.append("| (none) | | 0 | |")
    out.append(f"\n**Unexpected errors in total: {report['unexpected']}** (must be 0)")
    for q in report["quality"]:
        out.append(f"\nAnswer quality (not counted as an error): {q['kind']}: {q['count']}, e.g. {q['example']}")
    out += [
        "",
        "### Per minute",
        "",
        "| minute | answers | failed | p50 s | p95 s | max s | p95 s (written reader) | RSS MB (mean) | "
        "RSS MB (max) | threads | open files |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in report["per_minute"]:
        label = f"{m['minute']} (after the load: final check)" if m["after_load"] else str(m["minute"])
        out.append(
            f"| {label} | {m['answers']} | {m['failed']} | {fmt(m['p50'])} | {fmt(m['p95'])} | "
            f"{fmt(m['max'])} | {fmt(m['llm_p95'])} | {fmt(m['rss_mb'], 1)} | {fmt(m['rss_max_mb'], 1)} | "
            f"{fmt(m['threads'])} | {fmt(m['fds'])} |"
        )
    g = report["rss_growth"]
    if g:
        out.append(
            f"\nRSS: mean of the second third {g['second_third_mb']} MB, of the last third "
            f"{g['last_third_mb']} MB ({g['change_pct']:+.1f} %): "
            + ("**grows**" if g["grows"] else "does not grow (within 5 % / 20 MB)")
            + "."
        )
    else:
        out.append("\nRSS: too few samples to compare thirds.")
    out += ["", "### Writers", "", "| when (s) | what | result |", "|---|---|---|"]
    for u in report["uploads"]:
        if u["op"] == "add":
            res = f"ok in {u['seconds']} s; seen at the next question: {u.get('visible')}" if u["ok"] else "FAILED"
        else:
            res = f"ok in {u['seconds']} s; gone at the next question: {u.get('gone')}" if u["ok"] else "FAILED"
        out.append(f"| {u['t']} | {u['op']} {u['name']} | {res} |")
    for k in report["kills"]:
        if k.get("skipped"):
            out.append(f"| – | batch {k['batch']}: add, kill -9 | not run: {k['skipped']} |")
            continue
        out.append(
            f"| – | batch {k['batch']}: add {k['documents']} docs, kill -9 | "
            f"killed mid-add: {k['killed']} after {k['seconds']} s ({k.get('note', 'reported ' + str(k['committed_reported']) + ' committed')}); "
            f"listed after the kill {k.get('listed_after_kill')}; re-run ok: {k['rerun_ok']} in "
            f"{k['rerun_seconds']} s (added {k['rerun_added']}, unchanged {k['rerun_unchanged']}); "
            f"listed after {k['listed_after_rerun']}/{k['documents']} |"
        )
    if report["flood"]:
        codes = Counter()
        for f in report["flood"]:
            codes.update({str(k): v for k, v in f["codes"].items()})
        logins = [f.get("real_login_s") for f in report["flood"] if f.get("real_login_s") is not None]
        out.append(
            f"\nLogin flood: {len(report['flood'])} bursts of 30; POST /login answers {dict(codes)}; "
            f"the real user's login after each burst: "
            f"{Counter(f.get('real_login') for f in report['flood'])}, slowest {fmt(max(logins) if logins else None, 3)} s; "
            f"the flooder's API call with a wrong password: {Counter(f.get('api_wrong_password') for f in report['flood'])}."
        )
    f = report["final"]
    if f:
        out += ["", "### Final index check", "", "| check | result |", "|---|---|"]
        out.append(
            f"| `qa index list` lists every document added and not removed | {f['expected'] - len(f['missing'])}/{f['expected']} "
            f"(bundled + generated){' missing: ' + ', '.join(f['missing'][:3]) if f['missing'] else ''} |"
        )
        out.append(f"| removed documents listed | {len(f['removed_still_listed'])} of {f['removed']} |")
        out.append(f"| listed but never added | {len(f['extra'])} |")
        out.append(
            f"| generated documents cited by a question naming their code | {f['cited']}/{f['present']}"
            f" (top passage: {f['first_passage']}/{f['present']}) |"
        )
        out.append(f"| removed documents still cited or retrieved | {len(f['removed_served'])} of {f['removed']} |")
        out.append(f"| the chat's own document list (/documents_table) | {f.get('server_lists', '–')} documents |")
    if report["server_tracebacks"]:
        out.append("\nTracebacks in the server's log: " + "; ".join(sorted(set(report["server_tracebacks"])))[:600])
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30.0, help="how long the load runs")
    parser.add_argument("--clients", type=int, default=4, help="chat clients asking in a loop")
    parser.add_argument(
        "--embedder",
        default=None,
        help="QA_EMBEDDER for the server and the CLI (default: the product's default, e5-small; "
        "hashing:256 for quick runs)",
    )
    parser.add_argument("--auth", default="user:pass", help="the chat's login (user:password)")
    parser.add_argument("--llm-timeout", type=float, default=5.0, help="QA_LLM_TIMEOUT of the server")
    parser.add_argument(
        "--llm-pause", type=float, default=20.0, help="QA_LLM_PAUSE: how long the failing model is skipped"
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=10.0,
        help="seconds beyond QA_LLM_TIMEOUT an answer may take (the retrieval under load)",
    )
    parser.add_argument("--llm-share", type=float, default=0.5, help="share of questions asking for the written answer")
    parser.add_argument("--think", type=float, default=0.5, help="mean pause of a chat client between questions (s)")
    parser.add_argument(
        "--upload-every",
        type=float,
        default=None,
        help="seconds between uploads (default: 60, or a sixth of a run shorter than 6 minutes)",
    )
    parser.add_argument("--kills", type=int, default=2, help="batch adds killed with kill -9 mid-add")
    parser.add_argument(
        "--batch-docs",
        type=int,
        default=None,
        help="documents in a killed batch (default 30 with hashing, 12 otherwise)",
    )
    parser.add_argument("--batch-size", type=int, default=3, help="QA_BATCH_DOCUMENTS of the killed add")
    parser.add_argument("--flood-every", type=float, default=15.0, help="seconds between login-flood bursts")
    parser.add_argument("--flood-size", type=int, default=30, help="wrong logins per burst, sent at once")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="write the whole report as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (QA_HOME, server log)")
    args = parser.parse_args(argv)
    if ":" not in args.auth or not all(args.auth.partition(":")[::2]):
        parser.error("--auth must look like user:password")
    if args.upload_every is None:
        args.upload_every = min(60.0, max(5.0, args.minutes * 60 / 6))
    if args.batch_docs is None:
        args.batch_docs = 30 if (args.embedder or "").startswith("hashing") else 12

    work = Path(tempfile.mkdtemp(prefix="qa-soak-"))
    soak = Soak(args, work, Procs())
    soak.record = Record(time.monotonic())
    soak.factory = DocFactory(args.seed)
    interrupted = False
    report = None
    threads: list[threading.Thread] = []

    def terminated(*_):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminated)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background
    try:
        soak.hung = HungModel()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("QA_", "GRADIO_SERVER")) or k == "QA_MODELS"}
        env.update(
            QA_HOME=str(work / "home"),
            QA_LLM=f"openai:http://127.0.0.1:{soak.hung.port}/v1#hung-model",
            QA_LLM_TIMEOUT=str(args.llm_timeout),
            QA_LLM_PAUSE=str(args.llm_pause),
            PYTHONPATH=str(ROOT),
            HF_HUB_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
            GRADIO_ANALYTICS_ENABLED="False",
            ANONYMIZED_TELEMETRY="False",
            TOKENIZERS_PARALLELISM="false",
            NO_PROXY="127.0.0.1,localhost",
            GRADIO_TEMP_DIR=str(work / "gradio"),
        )
        if args.embedder:
            env["QA_EMBEDDER"] = args.embedder
        soak.env = env
        rec = soak.record
        rec.event(f"building the index from the bundled corpus in {work / 'home'}")
        rc, out, err, seconds = soak.cli("index", "rebuild", timeout=900)
        if rc != 0:
            raise RuntimeError(f"`qa index rebuild` failed (exit {rc}): {err.strip()[-300:]}")
        listed, why = soak.listed()
        if not listed:
            raise RuntimeError(f"no bundled documents listed: {why}")
        soak.bundled = sorted(listed)
        rec.event(f"built in {seconds:.0f} s ({len(listed)} documents); starting `qa serve`")
        start_server(soak)
        rec.event(f"server up at {soak.url} (pid {soak.server.pid}); the load runs {args.minutes:g} min")
        items = load_questions()
        soak.record = rec = Record(time.monotonic())  # the run's clock starts with the load
        threads = [threading.Thread(target=monitor, args=(soak,), name="monitor", daemon=True)]
        threads += [
            threading.Thread(target=chat_client, args=(soak, n, items), name=f"client-{n}", daemon=True)
            for n in range(args.clients)
        ]
        threads += [
            threading.Thread(target=uploader, args=(soak,), name="uploader", daemon=True),
            threading.Thread(target=killer, args=(soak,), name="killer", daemon=True),
            threading.Thread(target=flooder, args=(soak,), name="flooder", daemon=True),
        ]
        for t in threads:
            t.start()
        soak.stop.wait(soak.duration)
        soak.stop.set()
        rec.event("the load stops; waiting for the clients and writers to finish what they are doing")
        limit = time.monotonic() + max(120.0, 2 * soak.http_timeout) + 1500  # a writer's re-run may still be going
        for t in threads[1:]:
            t.join(max(0.1, limit - time.monotonic()))
            if t.is_alive():
                rec.error(f"the {t.name} thread did not finish in time", "")
        if soak.server.poll() is None:
            rec.event("final check: `qa index list` and a question per document")
            final_check(soak)
        else:
            rec.error("the server was not running at the end", f"exit code {soak.server.returncode}")
    except KeyboardInterrupt:
        interrupted = True
        soak.stop.set()
        print("\ninterrupted: stopping the server and the writers", file=sys.stderr)
    except RuntimeError as exc:
        print(f"soak: {exc}", file=sys.stderr)
        soak.record.error("the soak could not run", exc)
    finally:
        soak.stop.set()
        soak.done.set()
        soak.record.closed = True
        stop_server(soak)
        soak.procs.kill_all()
        if soak.hung is not None:
            soak.hung.close()
        try:
            report = summarize(soak, interrupted)
        except Exception as exc:  # the report must not hide the cleanup
            print(f"soak: could not summarize: {type(exc).__name__}: {exc}", file=sys.stderr)
        if args.keep:
            print(f"kept {work} (QA_HOME {work / 'home'}, server.log)", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
    if report is None:
        return 1
    print(markdown(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
        print(f"wrote {args.json}", file=sys.stderr)
    return 1 if report["unexpected"] or interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
