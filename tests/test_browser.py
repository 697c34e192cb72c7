"""A real browser (headless Debian Chromium, driven by Playwright) against the chat."""

import os
import shutil
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.fixture(scope="module")
def chat_url(real_engine, tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium is not installed (make setup installs Debian's chromium when run as root)")
    from qa.config import Settings
    from qa.engine import Engine
    from qa.ui.app import launch

    # Its own index: uploads here must not change the shared one.
    engine = Engine(Settings(home=tmp_path_factory.mktemp("browser-home")), embedder=real_engine.embedder)
    demo = launch(engine, host="127.0.0.1", port=7873, block=False)
    yield "http://127.0.0.1:7873/"
    demo.close()


@pytest.fixture(scope="module")
def page(chat_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.dialogs = dialogs
        page.goto(chat_url, wait_until="load")
        page.locator("#qa-question textarea").wait_for(timeout=60000)
        yield page
        browser.close()


def _ask(page, question):
    box = page.locator("#qa-question textarea")
    box.fill(question)
    page.locator("#qa-ask").click()


def test_ask_see_answer_and_highlighted_citation(page):
    _ask(page, "Who founded the IIJ?")
    page.wait_for_function(
        "() => document.querySelector('#qa-sources') && document.querySelector('#qa-sources mark')", timeout=60000
    )
    chat = page.locator("#qa-chat")
    chat.get_by_text("GCTF", exact=False).first.wait_for(timeout=30000)
    mark = page.locator("#qa-sources mark").first
    assert mark.is_visible() and "GCTF" in mark.inner_text()
    assert "001_06ab6ed67bf2d3c2.txt" in page.locator("#qa-sources").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)


def test_open_a_source_shows_the_document_scrolled_to_the_passage(page):
    _ask(page, "Where is the IIJ headquartered?")
    page.wait_for_function("() => document.querySelector('#qa-sources mark')", timeout=60000)
    page.locator("#qa-open-source input").click()
    page.locator("li[data-testid=dropdown-option]").first.click()
    highlight = page.locator("#qa-document mark#qa-hl")
    highlight.wait_for(timeout=30000)
    document = page.locator("#qa-document .qa-doc")
    assert "Valletta" in document.inner_text() and len(document.inner_text()) > 2000  # the whole document
    page.wait_for_function(
        """() => { const m = document.getElementById('qa-hl'); const box = m.closest('.qa-doc');
                   const a = m.getBoundingClientRect(), b = box.getBoundingClientRect();
                   return a.top >= b.top - 1 && a.bottom <= b.bottom + 1; }""",
        timeout=10000,
    )
    page.screenshot(path=str(ARTIFACTS / "source.png"), full_page=True)


def test_upload_then_cite_and_markup_stays_text(page, tmp_path):
    doc = tmp_path / "harbour_notes.html"
    doc.write_text(
        "<html><body><p>The harbour museum of Qarshi opened in 1987 with twelve exhibition halls.</p>"
        "<p>Visitors saw &lt;script&gt;alert(1)&lt;/script&gt; and &lt;img src=x onerror=alert(2)&gt; written on a sign.</p>"
        f"<!-- {time.time_ns()} --></body></html>",  # unique bytes: Gradio names its copy by content hash
        encoding="utf-8",
    )
    from qa.ui.app import upload_cache

    earlier_copies = set(upload_cache().rglob("harbour_notes.html"))  # left by other runs, if any
    page.get_by_role("tab", name="Documents").click()
    page.locator("#qa-upload input[type=file]").set_input_files(str(doc))
    page.locator("#qa-upload").get_by_text("harbour_notes.html").first.wait_for(timeout=60000)
    page.locator("#qa-add").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('textarea')].some(t => t.value.includes('added harbour_notes.html'))",
        timeout=90000,
    )
    assert "harbour_notes.html" in page.locator("#qa-documents").inner_text()
    assert not set(upload_cache().rglob("harbour_notes.html")) - earlier_copies  # the server kept no copy of it
    page.get_by_role("tab", name="Chat").click()
    _ask(page, "When did the harbour museum of Qarshi open?")
    page.wait_for_function(
        "() => (document.querySelector('#qa-sources')?.innerText || '').includes('harbour_notes.html')", timeout=60000
    )
    _ask(page, "What did visitors see written on the sign?")
    page.wait_for_function(
        "() => (document.querySelector('#qa-sources')?.innerText || '').includes('<script>')", timeout=60000
    )
    assert page.dialogs == []  # nothing from the document ran
    assert page.locator("#qa-sources script").count() == 0 and page.locator("#qa-sources img").count() == 0


def _empty_files(folder: Path) -> set:
    return {p for p in folder.rglob("*") if p.is_file() and p.stat().st_size == 0} if folder.exists() else set()


def test_upload_a_word_file_then_cite_it_and_leave_no_temporary_file(page, tmp_path):
    import docx

    doc = docx.Document()
    doc.sections[0].header.paragraphs[0].text = "CONFIDENTIAL HEADER"
    doc.add_paragraph("Press release.")
    doc.add_paragraph(f"The river port of Termez received its first grain barge on 3 March 2021 ({time.time_ns()}).")
    table = doc.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Barges"
    table.rows[0].cells[1].text = "forty-two"
    path = tmp_path / "termez_port.docx"
    doc.save(str(path))
    from qa.ui.app import upload_cache

    empty_before = _empty_files(upload_cache())
    page.get_by_role("tab", name="Documents").click()
    page.locator("#qa-upload input[type=file]").set_input_files(str(path))
    page.locator("#qa-upload").get_by_text("termez_port.docx").first.wait_for(timeout=60000)
    statuses = "() => [...document.querySelectorAll('textarea')].map(t => t.value).join('\\n')"
    for _ in range(3):  # the picker shows the name before its upload to the server is done: on a busy machine
        page.locator("#qa-add").click()  # Add can come first ("No file chosen."); then it is clicked again
        page.wait_for_function(f"() => /added termez_port.docx|No file chosen/.test(({statuses})())", timeout=90000)
        if "added termez_port.docx" in page.evaluate(statuses):
            break
        time.sleep(2)
    assert "added termez_port.docx" in page.evaluate(statuses)
    assert "termez_port.docx" in page.locator("#qa-documents").inner_text()
    leftovers = _empty_files(upload_cache()) - empty_before
    assert not leftovers, leftovers  # Gradio's File component left one empty temporary file per upload
    page.get_by_role("tab", name="Chat").click()
    _ask(page, "When did the river port of Termez receive its first grain barge?")
    page.wait_for_function(
        "() => (document.querySelector('#qa-sources')?.innerText || '').includes('termez_port.docx')", timeout=60000
    )
    assert "3 March 2021" in page.locator("#qa-chat").inner_text()
    assert "CONFIDENTIAL HEADER" not in page.locator("#qa-sources").inner_text()
