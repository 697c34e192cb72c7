"""The ``qa`` command line. Heavy packages are imported inside the commands, so ``qa --help`` is instant.

Longer than most modules (about 600 lines): one thin function per command over the library API, the parser with
every option's help, and the progress bar with its heartbeat; splitting them would scatter one front over files.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from qa import language as languages
from qa.answering.results import WRITING
from qa.config import LLM, READERS, offline_defaults
from qa.errors import QAError

if TYPE_CHECKING:
    from tqdm import tqdm

EXAMPLES = """examples:
  qa ask "Who founded the IIJ?"
  qa ask "IIJ qachon tashkil etilgan?" --json
  qa index add ~/docs/report.pdf ~/docs/notes/
  qa index list
  qa eval --compare
  qa serve --port 7860
"""


def _engine(args, notify=True):
    from qa.config import Settings
    from qa.engine import Engine

    settings = Settings(
        embedder=getattr(args, "embedder", None),
        reranker=getattr(args, "reranker", None),
        llm=getattr(args, "llm", None),
    )
    if getattr(args, "reader", None):
        settings.reader = args.reader
    if getattr(args, "home", None):
        settings.home = os.path.abspath(os.path.expanduser(args.home))

        settings.home = Path(settings.home)
    return Engine(settings, notify=(lambda m: print(m, file=sys.stderr)) if notify else None)


class _Bar:
    """Progress of (stage, done, total) callbacks on stderr: a tqdm bar with rate and ETA on a terminal, and
    otherwise (a log, a service, CI) a plain line every ``QA_PROGRESS_SECONDS`` (5) seconds and at the end.
    The ``embedding`` stage (texts of the batch being embedded) is shown beside the documents, not instead."""

    def __init__(self, unit: str = "documents"):
        self.bar: tqdm | None = None
        self.stage: str | None = None
        self.unit = unit
        self.tty = sys.stderr.isatty()
        try:
            self.every = float(os.environ.get("QA_PROGRESS_SECONDS", "5"))
        except ValueError:
            self.every = 5.0
        self._clock = time.monotonic
        self._started = self._last = self._clock()
        self._state = (0, 0)
        self._detail: tuple[int, int] | None = None  # texts of the batch being embedded: (done, total)
        self._lock = threading.Lock()
        # off a terminal: a thread that prints the state every `every` s while work goes on (False: switched off)
        self._ticker: threading.Thread | Literal[False] | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage == "embedding":
            self._detail = (done, total)
            if not self.tty:
                return self._tick()
            if self.bar is not None:
                self.bar.set_postfix_str(f"embedding {done}/{total} texts")
            return None
        if not self.tty:
            return self._line(stage, done, total)
        from tqdm import tqdm

        if self.bar is None or self.stage != stage:
            if self.bar is not None:
                self.bar.close()
            self.stage = stage
            self.bar = tqdm(total=total, desc=stage, unit=self.unit, file=sys.stderr, leave=False)
        self.bar.total = max(total, done)
        self.bar.n = done
        self.bar.refresh()

    def _line(self, stage: str, done: int, total: int) -> None:
        now = self._clock()
        if stage != self.stage:
            if self.stage is not None:
                self._flush()
                self._started = now
            self.stage, self._last = stage, now
        self._state = (done, total)
        self._detail = None
        self._tick()

    def _tick(self) -> None:
        with self._lock:
            now = self._clock()
            if self.stage is not None and now - self._last >= self.every:
                self._last = now
                self._print(now)
        if self._ticker is None and self.stage is not None and self.every > 0:
            self._stop: threading.Event = threading.Event()
            self._ticker = threading.Thread(target=self._beat, name="qa-progress", daemon=True)
            self._ticker.start()

    def _beat(self) -> None:
        """A line every ``every`` seconds even while one call of the embedder takes longer than that."""
        while not self._stop.wait(min(self.every, 1.0)):
            with self._lock:
                now = self._clock()
                if self.stage is not None and now - self._last >= self.every:
                    self._last = now
                    self._print(now)

    def _print(self, now: float) -> None:
        done, total = self._state
        elapsed = max(now - self._started, 1e-6)
        rate = done / elapsed
        line = f"{self.stage}: {done}/{total} {self.unit}" + (f" ({100 * done / total:.0f}%)" if total else "")
        line += f", {rate:.1f} {self.unit}/s, {elapsed:.0f}s elapsed"
        if total and done < total and rate > 0:
            line += f", about {(total - done) / rate:.0f}s left"
        if self._detail and self._detail[0] < self._detail[1]:
            line += f"; embedding the next batch: {self._detail[0]}/{self._detail[1]} texts"
        print(line, file=sys.stderr, flush=True)

    def _flush(self) -> None:
        if self.stage is not None and self._state[0]:
            self._print(self._clock())

    def close(self):
        if self._ticker:  # None: never started; False: switched off
            self._stop.set()
            self._ticker.join(2)
            self._ticker = None
        if self.bar is not None:
            self.bar.close()
        if not self.tty:
            self._flush()
            self.stage = None


def _print_answer(answer) -> None:
    from qa.compose import labelled

    print(labelled(answer))
    if not answer.citations:
        return
    print()
    for c in answer.citations:
        from qa.prompts import language_name

        print(
            f"[{c.number}] {c.source} ({language_name(c.language, 'en')}, chars {c.start}-{c.end})"
            + (" (OCR)" if getattr(c, "ocr", False) else "")
            + (f"; the same text as {', '.join(c.copies)}" if c.copies else "")
        )
        before = c.text[: c.quote_start - c.start]
        quote = c.text[c.quote_start - c.start : c.quote_end - c.start]
        after = c.text[c.quote_end - c.start :]
        passage = f"{before}>>>{quote}<<<{after}"
        print("    " + " ".join(passage.split()))


def _stream_answer(engine, question, history, args):
    """With the language-model reader: the draft is shown on a terminal's stderr as it is written (one line,
    rewritten); only the checked result goes to stdout. Off a terminal, one line says the model is writing."""

    from qa.compose import written_note

    tty = sys.stderr.isatty()
    width = shutil.get_terminal_size((100, 20)).columns - 1
    answer, announced = None, False
    for answer in engine.stream(question, history=history, k=args.k, language=args.lang):
        if answer.written is None or answer.written.status != WRITING:
            continue
        if not announced:
            print(
                f"writing the answer with the language model ({engine.llm.spec.label})...",
                file=sys.stderr,
                end="\n" if not tty else "",
                flush=True,
            )
            announced = True
        if tty and answer.written.text:
            line = "writing: " + " ".join(answer.written.text.split())
            line = line if len(line) <= width else "…" + line[-(width - 1) :]
            print("\r\033[K" + line, end="", file=sys.stderr, flush=True)
    if tty and announced:
        print("\r\033[K", end="", file=sys.stderr, flush=True)
    if answer is not None and written_note(answer):
        print(written_note(answer), file=sys.stderr)
    return answer


def cmd_ask(args) -> int:
    from qa.answering.query import validate_question

    question = validate_question(" ".join(args.question))  # before any slow work
    engine = _engine(args)
    history = None
    if args.history:
        history = [{"role": "user", "content": h} for h in args.history]
    bar = _Bar()
    engine.ensure_index(progress=bar)
    bar.close()
    if engine.reader_name(None) == LLM:
        answer = _stream_answer(engine, question, history, args)
    else:
        answer = engine.answer(question, history=history, k=args.k, language=args.lang)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_answer(answer)
    return 0


def cmd_index(args) -> int:
    if args.index_command == "add":
        from qa.config import Settings
        from qa.index.readers import collect_paths, plan_line

        # The first line at once, before the engine and its store are loaded: a log shows the work ahead.
        print(plan_line(collect_paths(list(args.paths)), Settings()), file=sys.stderr, flush=True)
    engine = _engine(args)
    if args.index_command == "add":
        bar = _Bar()
        report = engine.library.add(args.paths, progress=bar, announce=False)
        bar.close()
        for name in report.added:
            print(f"added     {name}")
        for name in report.updated:
            print(f"updated   {name}")
        for name in report.unchanged:
            print(f"unchanged {name}")
        if report.added or report.updated:
            print(f"{report.chunks} chunks, {report.sentences} sentences embedded in {report.seconds:.1f}s")
        for name, note in report.notes:
            print(f"note      {name}: {note}")
        for path, why in report.skipped:
            print(f"skipped   {why}", file=sys.stderr)
        for path, why in report.failed:
            print(f"failed    {why}", file=sys.stderr)
        if report.passed_over:
            from qa.index.readers import passed_over_line

            print(passed_over_line([Path(p) for p in report.passed_over]), file=sys.stderr)
        if report.failed:
            print(
                f"qa: {len(report.failed)} file(s) could not be indexed (listed above); the others were.",
                file=sys.stderr,
            )
            return 2
        return 0
    if args.index_command == "list":
        docs = engine.documents()
        if not docs:
            print("The index is empty. Add documents with `qa index add PATH...`.")
        else:
            width = max(len(d.name) for d in docs)
            print(f"{'document':<{width}}  lang  chunks  chars   added")
            for d in docs:
                print(f"{d.name:<{width}}  {d.language:<4}  {d.chunks:>6}  {d.chars:>6}  {d.added}")
        # The rows may come from the local cache of the document list: say when the store below cannot be read.
        unreadable = engine.library.readable()
        if unreadable is not None:
            sys.stdout.flush()
            print(
                f"qa: warning: the list above comes from the local cache; the index itself cannot be read: "
                f"{unreadable}",
                file=sys.stderr,
            )
            return unreadable.exit_code
        return 0
    if args.index_command == "check":
        return _check(engine)
    if args.index_command == "remove":
        engine.ensure_index()
        engine.library.remove(args.name)
        print(f"removed {args.name}")
        return 0
    if args.index_command == "rebuild":
        bar = _Bar()
        if not len(engine.library.manifest) and not engine.library.exists():
            engine.library.build_bundled(progress=bar)
            bar.close()
            print("built the index from the bundled corpus")
            return 0
        report = engine.library.rebuild(progress=bar)
        bar.close()
        print(
            f"rebuilt: {len(report.added)} documents, {report.chunks} chunks, {report.sentences} sentences "
            f"in {report.seconds:.1f}s with {engine.embedder.id}"
        )
        return 0
    raise AssertionError(args.index_command)


def _check(engine) -> int:
    """``qa index check``: "healthy" with what was read, or each problem with its way out (exit 1)."""
    report = engine.library.check()
    languages = ", ".join(sorted(report.languages)) or "none"
    read = (
        f"{report.documents} documents, {report.chunks} chunks and {report.sentences} sentences in "
        f"{report.collections} collections ({languages}); the library: {report.library} copies"
        + (f"; SQLite integrity: {report.integrity}" if report.integrity else "")
        + (f"; {report.leftovers} leftovers of a write cut short (swept by the next write)" if report.leftovers else "")
    )
    if report.healthy:
        print(f"healthy: {read}; {report.seconds:.1f}s")
        return 0
    causes: dict = {}  # one line per cause, naming every part that failed with it
    for what, problem in report.problems:
        causes.setdefault(str(problem), []).append(what)
    print(f"not healthy ({len(causes)} problem{'s' if len(causes) != 1 else ''}); read: {read}")
    for problem, parts in causes.items():
        where = ", ".join(parts[:3]) + (f" and {len(parts) - 3} more" if len(parts) > 3 else "")
        print(f"qa: error: {where}: {problem}", file=sys.stderr)
    return 1


def _distractor_spec(value: str) -> str:
    """N, real:N, heldout:N or real:N,heldout:M (checked here, so a typo fails before any work)."""
    from qa.eval.realtext import parse_spec

    value = value.strip()
    if value.isdigit():
        return value
    try:
        parse_spec(value)
    except QAError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _with_distractors(args, count: str):
    """An engine over the bundled corpus plus the distractor documents of ``count`` (N template documents, or
    ``real:N`` / ``heldout:N`` real text), kept in --home or a cache folder."""
    from qa.eval.distractors import add_distractors, default_home

    if not getattr(args, "home", None):
        args.home = str(default_home(count))
    engine = _engine(args)
    bar = _Bar()
    add_distractors(engine, count, progress=bar, notify=lambda m: print(m, file=sys.stderr))
    bar.close()
    return engine


def cmd_eval(args) -> int:
    from qa.answering.decision import RULES, check_rules
    from qa.eval import runner
    from qa.eval.dataset import bundled_set

    if args.ablate.strip() == "list":
        for name, what in RULES.items():
            print(f"{name:15} {what}")
        return 0
    off = check_rules(args.ablate.split(","))
    if args.distractors:
        engine = _with_distractors(args, args.distractors)
    else:
        engine = _engine(args)
        engine.ensure_index(progress=_Bar())
    engine.ablate = off
    path = args.file or str(bundled_set("test"))

    def progress_factory(name, total):
        from tqdm import tqdm

        bar = tqdm(total=total, desc=name, unit="q", file=sys.stderr, leave=False, disable=None)

        def update(done, _total):
            bar.update(done - bar.n)
            if done == _total:
                bar.close()

        return update

    reports = runner.evaluate(
        engine, path, k=args.k, compare=args.compare, progress_factory=progress_factory, limit=args.sample
    )
    text = runner.markdown(reports, path)
    if args.distractors:
        what = (
            f"{args.distractors} distractor documents"
            if args.distractors.isdigit()
            else f"real-text distractors ({args.distractors})"
        )
        text = text.replace("# Evaluation on", f"# With {what}: evaluation on", 1)
    if off:
        text = text.replace("# ", f"# Rules turned off: {', '.join(sorted(off))}. ", 1)
    print(text)
    if args.inspect:
        print("\n## Judged wrong\n")
        print(runner.inspect(next(iter(reports.values()))))
    if args.json:
        runner.save_json(reports, args.json)
        print(f"wrote {args.json}", file=sys.stderr)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {args.markdown}", file=sys.stderr)
    if args.baseline:
        try:
            with open(args.baseline, encoding="utf-8") as f:
                old = json.load(f)
        except (OSError, json.JSONDecodeError) as exc:
            raise QAError(f"Cannot read the baseline report {args.baseline}: {exc}") from None
        changes, regressions = runner.diff(next(iter(reports.values())), old)
        print("\n## Change against " + args.baseline + "\n")
        print(changes)
        if regressions and args.fail_on_regression:
            print(f"\nREGRESSION (more than {runner.TOLERANCE:g} below the recorded figures):", file=sys.stderr)
            for line in regressions:
                print("  " + line, file=sys.stderr)
            return 3
    return 0


def _port(value: str) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"a port is a number from 1 to 65535, not {value!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a number from 1 to 65535, not {port}")
    return port


def cmd_serve(args) -> int:
    from qa.ui.app import serve

    if args.port is None:
        try:
            args.port = _port(os.environ.get("QA_PORT", "7860"))
        except argparse.ArgumentTypeError as exc:
            raise QAError(f"QA_PORT: {exc}") from None
    auth = args.auth or os.environ.get("QA_AUTH")
    serve(host=args.host, port=args.port, auth=auth, engine=_engine(args), api_keys=os.environ.get("QA_API_KEY"))
    return 0


def _reader_options(sub) -> None:
    sub.add_argument(
        "--reader",
        choices=list(READERS),
        help="extractive: quote the sentences (default, or $QA_READER); llm: a language model writes the "
        "answer in the question's language, shown only when it checks out against the cited sentences",
    )
    sub.add_argument(
        "--llm",
        metavar="SPEC",
        help="the language model: openai:http://HOST:PORT/v1#MODEL, "
        "gguf:/path/model.gguf or packaged:qwen2.5-1.5b (default: $QA_LLM)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa",
        description="Ask questions about your documents (Russian, English, Uzbek) and get short answers with cited passages.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--home", help="data directory (default: $QA_HOME or ~/.local/share/qa)")
    parser.add_argument(
        "--embedder",
        help="e5-small (default), minilm, sentence-transformers:PATH_OR_ID, hashing:DIM (default: $QA_EMBEDDER)",
    )
    parser.add_argument(
        "--reranker",
        help="none (default) or cross-encoder:PATH_OR_ID, a sentence-transformers "
        "CrossEncoder that reorders the best passages and sentences (default: $QA_RERANKER)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask = sub.add_parser("ask", help="answer a question with citations")
    ask.add_argument("question", nargs="+")
    _reader_options(ask)
    ask.add_argument("--json", action="store_true", help="print the answer and citations as JSON")
    ask.add_argument("-k", type=int, default=5, help="passages to retrieve (default 5)")
    ask.add_argument("--lang", choices=languages.codes(), help="only use documents in this language")
    ask.add_argument(
        "--history",
        action="append",
        metavar="EARLIER_QUESTION",
        help="an earlier question of the conversation (repeatable, oldest first)",
    )
    ask.set_defaults(func=cmd_ask)

    idx = sub.add_parser("index", help="manage the indexed documents")
    isub = idx.add_subparsers(dest="index_command", metavar="ACTION", required=True)
    add = isub.add_parser(
        "add",
        help="add or update files or folders (txt, md, html, pdf, docx, odt; scanned pdf, "
        "png, jpg, tif read by OCR with Tesseract: make ocr)",
    )
    add.add_argument("paths", nargs="+")
    isub.add_parser("list", help="list indexed documents")
    rm = isub.add_parser("remove", help="remove a document by file name")
    rm.add_argument("name")
    isub.add_parser("rebuild", help="re-embed everything (after changing the embedder)")
    isub.add_parser("check", help="read the whole index and the library: 'healthy', or what is wrong and the way out")
    idx.set_defaults(func=cmd_index)

    ev = sub.add_parser("eval", help="run an evaluation set and print the metrics")
    ev.add_argument("file", nargs="?", help="JSON Lines evaluation file (default: the bundled test set)")
    ev.add_argument("--json", metavar="PATH", help="write the full report as JSON")
    ev.add_argument("--markdown", metavar="PATH", help="write the tables as Markdown")
    ev.add_argument("--k", type=int, default=5, help="passages per question (default 5)")
    ev.add_argument("--compare", action="store_true", help="also run dense-only, BM25-only and plain llama-index")
    ev.add_argument(
        "--distractors",
        type=_distractor_spec,
        default=None,
        metavar="SPEC",
        help="add unrelated documents (ru, en, uz Latin and Cyrillic) to the bundled corpus first: N "
        "made from templates, or real:N / heldout:N cut from real text in public packages "
        "(real:N,heldout:M for both); the index is kept for the next run",
    )
    ev.add_argument(
        "--ablate",
        metavar="RULE[,RULE]",
        default="",
        help="turn decision rules off, to measure what each earns (--ablate list: the rules)",
    )
    ev.add_argument(
        "--sample",
        type=int,
        metavar="N",
        help="only N questions, spread evenly over the set (for slow set-ups such as --reader llm on a CPU)",
    )
    _reader_options(ev)
    ev.add_argument(
        "--inspect", action="store_true", help="list the questions judged wrong, with the decision behind each"
    )
    ev.add_argument("--baseline", metavar="OLD.json", help="print the change of every metric against an earlier report")
    ev.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="with --baseline: exit 3 if answer accuracy, hit@1 or refusal accuracy drop by more than 0.05",
    )
    ev.set_defaults(func=cmd_eval)

    srv = sub.add_parser(
        "serve",
        help="start the web chat and, beside it, an OpenAI-compatible API (/v1, /api/answer)",
        description="The web chat, and an OpenAI-compatible API on the same port: /v1/models, "
        "/v1/chat/completions, /api/answer. API keys: QA_API_KEY (comma-separated), sent as "
        "'Authorization: Bearer KEY'; without keys the API takes the --auth login (HTTP Basic), "
        "and is open only when the chat is.",
    )
    srv.add_argument("--host", default=os.environ.get("QA_HOST", "127.0.0.1"))
    srv.add_argument("--port", type=_port, default=None, help="default: $QA_PORT or 7860")
    srv.add_argument("--auth", metavar="USER:PASSWORD", help="require a login (or set QA_AUTH)")
    _reader_options(srv)
    srv.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    offline_defaults()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except QAError as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("qa: interrupted; the index is unchanged unless the command finished.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``qa ask ... | head``): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except BaseException as exc:
        # A failure of the index's store that no layer below named (they all should): its cause and way out.
        from qa.index.chroma import store_failure

        failure = store_failure(exc)
        if failure is None:
            raise
        print(f"qa: error: {failure}", file=sys.stderr)
        return failure.exit_code


if __name__ == "__main__":
    sys.exit(main())
