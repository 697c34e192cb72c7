"""The web chat (Gradio). Installed as ``qa.ui``; started by ``qa serve``.

Every answer goes through the same ``Engine.answer`` as the command line and
the Python API. Document text is always HTML-escaped before it is shown, so
markup inside a document is displayed, never executed.

About 500 lines: the Blocks layout and its handlers share local state (the engine, the components), so they are
built in one function; the HTML rendering of answers and documents beside it is what a test checks in Chromium.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import tempfile
import time
import types
from pathlib import Path

from qa import language as languages
from qa.answering.results import WRITING
from qa.compose import labelled
from qa.config import LLM
from qa.errors import QAError
from qa.prompts import language_name

EXAMPLES = [
    "Who founded the IIJ?",
    "Где находится штаб-квартира IIJ?",
    "Mintaqaviy ekspertlar Kengashining birinchi yig‘ilishi qachon bo‘lib o‘tadi?",
    "Кто такой Каха Имнадзе?",
]
UPLOAD_TYPES = [".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".odt", ".png", ".jpg", ".jpeg", ".tif", ".tiff"]
MAX_UPLOAD_MB = 20
CONCURRENCY = 4  # engine calls at once: the chat's queue and, separately, the API's worker threads
LANGUAGE_FILTERS = [("All languages", "")] + [(language_name(c, "en"), c) for c in languages.codes()]

CSS = """
.qa-source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 12px; margin: 6px 0; }
.qa-source .qa-head { font-weight: 600; margin-bottom: 4px; }
.qa-source mark, .qa-doc mark { background: #ffe58a; color: inherit; padding: 0 2px; }
.qa-doc { white-space: pre-wrap; max-height: 480px; overflow-y: auto; font-size: 0.95em; line-height: 1.45; }
.qa-doc .qa-passage { background: #eef6ff; }
"""


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def render_citations(answer) -> str:
    """Sources under an answer: file name, language, passage with the supporting sentence highlighted."""
    if not answer.found or not answer.citations:
        return "<div class='qa-sources'><em>No source: the documents do not answer this.</em></div>"
    parts = ["<div class='qa-sources'>"]
    for c in answer.citations:
        a, b = c.quote_start - c.start, c.quote_end - c.start
        passage = _escape(c.text[:a]) + "<mark>" + _escape(c.text[a:b]) + "</mark>" + _escape(c.text[b:])
        parts.append(
            f"<div class='qa-source' id='qa-cite-{c.number}'><div class='qa-head'>[{c.number}] {_escape(c.source)} "
            f"· {_escape(language_name(c.language, 'en'))}"
            + (" · OCR" if getattr(c, "ocr", False) else "")
            + (f" · the same text as {_escape(', '.join(c.copies))}" if c.copies else "")
            + "</div>"
            f"<div class='qa-passage-text'>{passage}</div></div>"
        )
    parts.append("</div>")
    return "".join(parts)


def render_document(
    text: str, start: int, end: int, quote_start: int, quote_end: int, name: str, ocr: bool = False
) -> str:
    """The whole document, the passage shaded and the supporting sentence highlighted (id qa-hl for scrolling);
    ``ocr``: the passage was read by text recognition (the header says so)."""
    quote_start, quote_end = max(start, quote_start), min(end, quote_end)
    pieces = [
        _escape(text[:start]),
        "<span class='qa-passage'>",
        _escape(text[start:quote_start]),
        "<mark id='qa-hl'>",
        _escape(text[quote_start:quote_end]),
        "</mark>",
        _escape(text[quote_end:end]),
        "</span>",
        _escape(text[end:]),
    ]
    head = f"<strong>{_escape(name)}</strong>" + (" (OCR)" if ocr else "")
    return f"<div class='qa-head'>{head}</div><div class='qa-doc'>{''.join(pieces)}</div>"


def upload_cache() -> Path:
    """Where Gradio keeps uploaded files."""
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio").resolve()


def discard_upload(path: Path) -> bool:
    """Delete a file Gradio received (and its folder, when empty); anything outside Gradio's cache is left alone."""
    try:
        path = path.resolve()
        path.relative_to(upload_cache())
    except (OSError, ValueError):
        return False
    path.unlink(missing_ok=True)
    try:
        path.parent.rmdir()
    except OSError:
        pass
    return True


def shown(history: list) -> list:
    """The conversation as the chatbot displays it: every message escaped (Markdown is off in the chatbot)."""
    return [{"role": m["role"], "content": _escape(str(m.get("content", "")))} for m in history]


def answer_as_text(answer) -> str:
    """Plain text for API clients: the answer, then each citation with its quote."""
    lines = [answer.text]
    for c in answer.citations:
        quote = " ".join(c.quote.split())
        lines.append(f"[{c.number}] {c.source} ({c.language}): {quote}")
    return "\n".join(lines)


def _without_stray_temporary_files(component):
    """Gradio's File component without its stray temporary file: for a file path, its ``preprocess`` makes an
    empty ``NamedTemporaryFile`` in Gradio's cache that nothing uses or deletes (one 0-byte file per upload, gradio
    6.31 ``components/file.py``). This component passes the uploaded file's path on, type-checked, and nothing else.
    (Patched on the instance: a subclass would make Gradio write a ``.pyi`` file beside this module.)"""

    import gradio as gr
    from gradio.utils import NamedString
    from gradio_client import utils as client_utils

    original = component._process_single_file

    def process(self, f):
        if self.type != "filepath":
            return original(f)
        if self.file_types and not client_utils.is_valid_file(f.path, self.file_types):
            raise gr.Error(f"Invalid file type. Please upload a file that is one of these formats: {self.file_types}")
        return NamedString(f.path)

    component._process_single_file = types.MethodType(process, component)
    return component


def build_app(engine):
    import gradio as gr

    def chat_turn(question: str, history: list, k: int, language: str, reader: str = ""):
        """Stream the answer; then show its sources. With the language-model reader the quote appears at once and
        the written answer streams in under it, labelled, and stays only if it passes the checks.

        ``history`` is the conversation as plain text (a ``gr.State``): what the core reads. The chatbot only
        shows it, escaped, with Markdown off: a document's text is displayed as the text it is.
        """
        history = list(history or [])
        question = (question or "").strip()
        if not question:
            yield shown(history), history, gr.update(), gr.update(), [], ""
            return
        history.append({"role": "user", "content": question})
        earlier = history[:-1]
        display = shown(history) + [{"role": "assistant", "content": ""}]
        answer = None
        try:
            if engine.reader_name(reader or None) == LLM:
                for answer in engine.stream(
                    question, history=earlier, k=int(k), language=language or None, reader="llm"
                ):
                    if answer.written is not None and answer.written.status == WRITING:
                        display[-1]["content"] = _escape(labelled(answer))
                        yield display, gr.update(), render_citations(answer), gr.update(), gr.update(), gr.update()
            else:
                answer = engine.answer(
                    question, history=earlier, k=int(k), language=language or None, reader="extractive"
                )
                words = _escape(answer.text).split(" ")
                step = max(1, len(words) // 12)
                for i in range(0, len(words), step):
                    display[-1]["content"] = " ".join(words[: i + step])
                    yield display, gr.update(), gr.update(), gr.update(), gr.update(), gr.update()
                    time.sleep(0.02)
        except QAError as exc:
            history.append({"role": "assistant", "content": f"⚠ {exc}"})
            yield shown(history), history, "", gr.update(choices=[], value=None), [], ""
            return
        assert answer is not None  # engine.stream() yields at least once
        history.append({"role": "assistant", "content": labelled(answer)})
        citations = [
            {
                "number": c.number,
                "source": c.source,
                "start": c.start,
                "end": c.end,
                "quote_start": c.quote_start,
                "quote_end": c.quote_end,
            }
            for c in answer.citations
        ]
        choices = [(f"[{c.number}] {c.source}", c.number) for c in answer.citations]
        yield (shown(history), history, render_citations(answer), gr.update(choices=choices, value=None), citations, "")

    def open_source(number, citations):
        for c in citations or []:
            if c["number"] == number:
                try:
                    text = engine.document_text(c["source"])
                    record = next((d for d in engine.documents() if d.name == c["source"]), None)
                except QAError as exc:
                    return f"<em>{_escape(str(exc))}</em>"
                ocr = record is not None and record.ocr_overlaps(c["start"], c["end"])
                return render_document(
                    text, c["start"], c["end"], c["quote_start"], c["quote_end"], c["source"], ocr=ocr
                )
        return ""

    def new_chat():
        return [], [], "", gr.update(choices=[], value=None), [], ""

    def documents_table():
        try:
            docs = engine.documents()
        except QAError as exc:
            return [[str(exc), "", 0, ""]]
        return [[d.name, language_name(d.language, "en"), d.chunks, d.added] for d in docs]

    def document_names():
        try:
            return gr.update(choices=[d.name for d in engine.documents()], value=None)
        except QAError:
            return gr.update(choices=[], value=None)

    def upload(files, progress=gr.Progress()):
        if not files:
            return "No file chosen.", documents_table(), document_names(), gr.update()
        messages = []
        folder = Path(tempfile.mkdtemp(prefix="qa-upload-"))
        rejected: list[Path] = []
        try:
            paths = []
            for f in files:
                src = Path(f if isinstance(f, str) else f.name)
                name = os.path.basename(getattr(f, "orig_name", None) or src.name)
                name = re.sub(r"[^\w.\- ]", "_", name)
                if Path(name).suffix.lower() not in UPLOAD_TYPES:
                    messages.append(f"✗ {name}: only {', '.join(UPLOAD_TYPES)} files are accepted.")
                    rejected.append(Path(name))
                    continue
                if not src.is_file():  # picked again after it was added: its copy was discarded then
                    messages.append(f"✗ {name}: already read; choose the file again to add it again.")
                    continue
                if src.stat().st_size > MAX_UPLOAD_MB * 1024 * 1024:
                    messages.append(f"✗ {name}: larger than {MAX_UPLOAD_MB} MB.")
                    continue
                dest = folder / name
                shutil.copyfile(src, dest)
                paths.append(dest)
            if paths:

                def report_progress(stage, done, total):
                    progress(done / max(total, 1), desc=stage)

                try:
                    report = engine.library.add(paths, progress=report_progress, replace_from_other_folders=True)
                    messages += [f"✓ added {n}" for n in report.added] + [f"✓ updated {n}" for n in report.updated]
                    messages += [f"= unchanged {n}" for n in report.unchanged]
                    messages += [f"  {name}: {note}" for name, note in report.notes]
                    messages += [f"✗ {why}" for _, why in report.failed]
                    messages += [f"– skipped {why}" for _, why in report.skipped]
                    if report.passed_over:
                        from qa.index.readers import passed_over_line

                        messages.append("– " + passed_over_line([Path(p) for p in report.passed_over]))
                except QAError as exc:
                    messages.append(f"✗ {exc}")
            if rejected:
                from qa.index.readers import passed_over_line

                messages.append("– " + passed_over_line(rejected))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            for f in files:  # Gradio's own copy of every upload, accepted or not: the text now lives in the index
                discard_upload(Path(f if isinstance(f, str) else f.name))
        # The picker is emptied: its files were read (or refused) and Gradio's copies of them are gone.
        return "\n".join(messages), documents_table(), document_names(), None

    def remove(name):
        if not name:
            return "Choose a document to remove.", documents_table(), document_names()
        try:
            engine.library.remove(name)
            message = f"✓ removed {name}"
        except QAError as exc:
            message = f"✗ {exc}"
        return message, documents_table(), document_names()

    def api_ask(question: str) -> str:
        """Answer a question; returns the answer text followed by its citations."""
        try:
            return answer_as_text(engine.answer(question))
        except QAError as exc:
            return f"Error: {exc}"

    with gr.Blocks(title="Ask the documents") as demo:
        gr.Markdown("## Ask the documents\nQuestions in English, Russian or Uzbek; every answer cites its passages.")
        citations_state = gr.State([])
        with gr.Tab("Chat"):
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label="Chat",
                        height=420,
                        elem_id="qa-chat",
                        sanitize_html=True,
                        render_markdown=False,
                        latex_delimiters=[],
                    )
                    conversation = gr.State([])  # the same messages as plain text: what the core reads
                    question = gr.Textbox(label="Question", placeholder="Who founded the IIJ?", elem_id="qa-question")
                    with gr.Row():
                        send = gr.Button("Ask", variant="primary", elem_id="qa-ask")
                        clear = gr.Button("New chat", elem_id="qa-new-chat")
                    gr.Examples(EXAMPLES, inputs=question, label="Examples")
                    with gr.Accordion("Settings", open=False):
                        k = gr.Slider(1, 10, value=5, step=1, label="Passages to retrieve")
                        language = gr.Dropdown(LANGUAGE_FILTERS, value="", label="Only documents in")
                        if engine.llm_configured:  # else the chat (and its API) has no such choice
                            reader = gr.Radio(
                                [
                                    ("Quote the documents", "extractive"),
                                    ("Written by the language model, checked", "llm"),
                                ],
                                value=engine.settings.reader,
                                label="Answer",
                                elem_id="qa-reader",
                            )
                        else:
                            reader = gr.State("extractive")
                with gr.Column(scale=2):
                    sources = gr.HTML("<em>Sources appear here.</em>", label="Sources", elem_id="qa-sources")
                    source_pick = gr.Dropdown([], label="Open a source", elem_id="qa-open-source")
                    document_view = gr.HTML("", elem_id="qa-document")
        with gr.Tab("Documents"):
            table = gr.Dataframe(
                headers=["document", "language", "chunks", "added"],
                value=documents_table,
                interactive=False,
                elem_id="qa-documents",
            )
            files = _without_stray_temporary_files(
                gr.File(
                    label=f"Add documents ({', '.join(UPLOAD_TYPES)}, up to {MAX_UPLOAD_MB} MB)",
                    file_count="multiple",
                    file_types=UPLOAD_TYPES,
                    elem_id="qa-upload",
                )
            )
            add_button = gr.Button("Add to the index", elem_id="qa-add")
            with gr.Row():
                remove_pick = gr.Dropdown([], label="Remove a document")
                remove_button = gr.Button("Remove", variant="stop")
            status = gr.Textbox(label="Status", interactive=False, lines=3)

        outputs = [chatbot, conversation, sources, source_pick, citations_state, question]
        send.click(
            chat_turn,
            [question, conversation, k, language, reader],
            outputs,
            api_name="chat",
            api_visibility="undocumented",
        )
        question.submit(
            chat_turn,
            [question, conversation, k, language, reader],
            outputs,
            api_name="chat_submit",
            api_visibility="private",
        )
        clear.click(new_chat, None, outputs, api_visibility="private")
        source_pick.change(open_source, [source_pick, citations_state], document_view, api_visibility="private").then(
            None,
            None,
            None,
            js="() => { const m = document.getElementById('qa-hl'); if (m) m.scrollIntoView({block: 'center'}); }",
        )
        add_button.click(upload, files, [status, table, remove_pick, files], api_visibility="private")
        remove_button.click(remove, remove_pick, [status, table, remove_pick], api_visibility="private")
        demo.load(document_names, None, remove_pick, api_visibility="private")
        gr.api(api_ask, api_name="ask")
    return demo


# The chat's user:password check (constant time, never waits: Gradio calls it on its event loop). Failed logins
# are throttled per client in front of /login by qa.ui.guard.LoginThrottle, without sleeping.
from qa.ui.guard import Credentials as LoginGuard  # noqa: E402


def chat_sessions() -> int:
    """How many conversations the chat keeps in memory (``QA_CHAT_SESSIONS``, default 200): Gradio keeps a copy
    of every component's configuration per session, about 0.1 MB here, and by default 10,000 sessions, so a
    server's memory grew with every conversation ever started (395 -> 950 MB in a 30-minute soak). The least
    recently used conversation beyond this number is forgotten: its next question is answered without the
    earlier turns."""
    from qa.config import _int_env as int_env

    value = int_env("QA_CHAT_SESSIONS", 200)
    if value < 1:
        raise QAError(f"QA_CHAT_SESSIONS must be at least 1 (got {value})")
    return value


def launch(
    engine,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: str | None = None,
    block: bool = True,
    api_keys=None,
    throttle=None,
):
    """Start the chat and, beside it, the OpenAI-compatible API (``qa.ui.api``). ``api_keys``: one key, several
    separated by commas, or a list (``QA_API_KEY``); without keys the API takes the chat's login, or is open when
    the chat is. ``throttle``: a ``qa.ui.guard.Throttle`` for failed logins and wrong keys (one is made if none
    is given; a test may pass one with a fake clock)."""
    import gradio as gr
    from starlette.middleware import Middleware

    from qa.ui.api import API, Access
    from qa.ui.guard import LoginThrottle, Throttle

    engine.ensure_index()
    demo = build_app(engine)
    demo.queue(default_concurrency_limit=CONCURRENCY)
    credentials = None
    if auth:
        user, sep, password = auth.partition(":")
        if not sep or not user or not password:
            raise QAError("--auth must look like user:password")
        credentials = LoginGuard(user, password)
    throttle = throttle if throttle is not None else Throttle()
    access = Access(api_keys, credentials, throttle)
    # In front of Gradio's routes: the API (its own paths only) and the login throttle (POST /login only).
    middleware = [Middleware(API, engine=engine, access=access, concurrency=CONCURRENCY)]
    login_note = None
    if credentials:
        middleware.append(Middleware(LoginThrottle, throttle=throttle))
        wait = throttle.max_delay / 60
        login_note = (
            f"After {throttle.free_failures} wrong passwords, the next attempt from the same place must wait: "
            f"{throttle.base_delay:g} s, doubling with each further one up to {wait:g} min. "
            "A login sent during the wait is ignored."
        )
    try:
        demo.launch(
            server_name=host,
            server_port=port,
            auth=credentials,
            auth_message=login_note,
            prevent_thread_lock=not block,
            quiet=not block,
            max_file_size=f"{MAX_UPLOAD_MB}mb",
            css=CSS,
            theme=gr.themes.Soft(),
            show_error=False,
            footer_links=["api"],
            app_kwargs={"middleware": middleware},
            state_session_capacity=chat_sessions(),
        )
    except OSError as exc:
        raise QAError(
            f"Cannot start the chat on {host}:{port} ({exc}). Is another program using that port? "
            "Choose another with --port or QA_PORT."
        ) from None
    return demo


def serve(host: str = "127.0.0.1", port: int = 7860, auth: str | None = None, engine=None, api_keys=None):
    from qa.ui.api import parse_keys

    if engine is None:
        from qa import get_engine

        engine = get_engine()
    keys = parse_keys(api_keys)
    access = (
        f"{len(keys)} API key(s) from QA_API_KEY"
        if keys
        else "the chat's login (HTTP Basic)"
        if auth
        else "open, like the chat"
    )
    print(f"Starting the chat on http://{host}:{port}", flush=True)
    print(f"OpenAI-compatible API on http://{host}:{port}/v1 and http://{host}:{port}/api/answer: {access}", flush=True)
    launch(engine, host, port, auth, block=True, api_keys=keys)
