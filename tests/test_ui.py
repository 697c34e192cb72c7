"""The web chat, started in-process and driven with gradio_client."""

import threading

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def app_url(real_engine):
    from qa.ui.app import launch

    demo = launch(real_engine, host="127.0.0.1", port=7871, block=False)
    yield "http://127.0.0.1:7871/"
    demo.close()


@pytest.fixture
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def _text(message):
    content = message["content"]
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content)
    return content


def _chat(client, question):
    """One chat turn; the conversation lives in the client's session, as in a browser tab."""
    result = client.predict(question, 5, "", api_name="/chat")
    history, sources = result[0], result[1]
    return history, sources


@pytest.mark.parametrize(
    "question, expected",
    [
        ("Who founded the IIJ?", "GCTF"),
        ("Кто основал IIJ?", "GCTF"),
        ("Vladimir Voronkov Toshkentda kim bilan uchrashdi?", "Komilov"),
    ],
)
def test_ask_api_answers_with_citations(client, question, expected):
    text = client.predict(question, api_name="/ask")
    assert expected in text and "[1] " in text and ".txt" in text


def test_chat_turn_follow_up_and_decline(client):
    history, sources = _chat(client, "Who founded the IIJ?")
    assert "GCTF" in _text(history[-1]) and "<mark>" in sources
    history, sources = _chat(client, "And where is its headquarters?")
    assert "Valletta" in _text(history[-1]) or "Валлетт" in _text(history[-1])
    history, sources = _chat(client, "What is the capital of Australia?")
    assert "do not say" in _text(history[-1]) and "No source" in sources


def test_sessions_keep_separate_histories(app_url):
    from gradio_client import Client

    results = {}

    def session(name, question):
        c = Client(app_url, verbose=False)
        history, _ = _chat(c, question)
        results[name] = history

    threads = [
        threading.Thread(target=session, args=("a", "Who founded the IIJ?")),
        threading.Thread(target=session, args=("b", "Кто такой Каха Имнадзе?")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert [_text(m) for m in results["a"] if m["role"] == "user"] == ["Who founded the IIJ?"]
    assert [_text(m) for m in results["b"] if m["role"] == "user"] == ["Кто такой Каха Имнадзе?"]


def test_markup_in_documents_is_shown_as_text(real_engine):
    from qa.answering.results import Answer, Citation
    from qa.ui.app import render_citations, render_document

    evil = "Intro. <script>alert(1)</script> <img src=x onerror=alert(1)> <a href='javascript:alert(1)'>x</a> End."
    citation = Citation(1, "evil.html", "en", evil, 0, len(evil), evil[:6], 0, 6)
    html = render_citations(Answer(text="x", found=True, citations=[citation])) + render_document(
        evil, 0, len(evil), 0, 6, "evil.html"
    )
    assert "<script>" not in html and "<img" not in html and "<a href" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html


@pytest.mark.parametrize(
    "path",
    [
        "gradio_api/file=/etc/passwd",
        "gradio_api/file=..%2f..%2f..%2fetc%2fpasswd",
        "file=/etc/passwd",
        "gradio_api/file=%2fetc%2fpasswd",
        "..%2f..%2fetc%2fpasswd",
    ],
)
def test_no_file_outside_the_app_can_be_read(app_url, path):
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(app_url + path, timeout=10) as response:
            body = response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        assert exc.code in (400, 403, 404)
        return
    assert "root:x:0:0" not in body


def test_login_is_required_when_auth_is_set(real_engine):
    from gradio_client import Client

    from qa.ui.app import launch

    demo = launch(real_engine, host="127.0.0.1", port=7872, auth="alice:s3cret", block=False)
    try:
        with pytest.raises(Exception):
            Client("http://127.0.0.1:7872/", verbose=False).predict("Who founded the IIJ?", api_name="/ask")
        client = Client("http://127.0.0.1:7872/", auth=("alice", "s3cret"), verbose=False)
        assert "GCTF" in client.predict("Who founded the IIJ?", api_name="/ask")
    finally:
        demo.close()


def test_language_filter_keeps_answers_in_that_language(client):
    result = client.predict("Who founded the IIJ?", 5, "ru", api_name="/chat")
    assert "000_d3df58107a8e1fd5.txt" in result[1] and "001_06ab6ed67bf2d3c2.txt" not in result[1]


def test_the_core_reads_plain_text_and_the_chat_shows_text_as_text(client, real_engine, monkeypatch):
    # An answer holding markup and Markdown: the chat shows it escaped, the next turn hands the core plain text.
    seen = []
    original = real_engine.answer

    def spy(question, history=None, **kwargs):
        seen.append(list(history or []))
        return original(question, history=history, **kwargs)

    monkeypatch.setattr(real_engine, "answer", spy)
    history, _ = _chat(client, "What does <b>x</b> & ![img](http://example.invalid/x.png) mean?")
    assert "&lt;b&gt;x&lt;/b&gt; &amp;" in _text(history[-2])  # displayed escaped
    _chat(client, "And who founded the IIJ?")
    earlier = seen[-1]
    assert earlier[0]["content"] == "What does <b>x</b> & ![img](http://example.invalid/x.png) mean?"
    assert "&lt;" not in earlier[1]["content"] and "&#x27;" not in earlier[1]["content"]


def test_only_gradios_own_upload_copies_are_discarded(tmp_path, monkeypatch):
    from qa.ui.app import discard_upload

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "cache"))
    kept = tmp_path / "mine.txt"
    kept.write_text("x", encoding="utf-8")
    upload = tmp_path / "cache" / "abc123" / "mine.txt"
    upload.parent.mkdir(parents=True)
    upload.write_text("x", encoding="utf-8")
    assert discard_upload(upload) and not upload.exists() and not upload.parent.exists()
    assert not discard_upload(kept) and kept.exists()
