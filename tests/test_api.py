"""The OpenAI-compatible API beside the chat (qa.ui.api), driven with the real ``openai`` client against a real
in-process server: the same answers as ``Engine.answer``, keys, the chat's login, and bounds."""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pytest

KEY = "test-key-1"
IIJ = "Who founded the IIJ?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _openai(url: str, key: str = KEY, **kwargs):
    import openai

    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=120, **kwargs)


def _expected_text(answer) -> str:
    from qa.ui.api import message_text

    return message_text(answer)


def _citations(answer) -> list[dict]:
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


@pytest.fixture(scope="module")
def keyed(real_engine):
    """The real engine behind a server with two API keys (QA_API_KEY="test-key-1, test-key-2")."""
    from qa.ui.app import launch

    port = _free_port()
    demo = launch(real_engine, host="127.0.0.1", port=port, block=False, api_keys="test-key-1, test-key-2")
    yield f"http://127.0.0.1:{port}"
    demo.close()


@pytest.fixture(scope="module")
def small_engine(tmp_path_factory):
    """The hashing embedder over the bundled corpus (no model), shared by the access tests of this module."""
    from tests.conftest import make_engine

    engine = make_engine(tmp_path_factory.mktemp("api-home") / "home", chroma_url=None)
    engine.ensure_index()
    return engine


# -- without a server -------------------------------------------------------------------------------


def test_messages_become_the_question_and_the_chats_history():
    from qa.ui.api import split_messages

    question, history = split_messages(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Who founded the IIJ?"},
            {"role": "assistant", "content": "The GCTF founded it [1].\n[1] 001_x.txt (en): The GCTF founded the IIJ."},
            {"role": "user", "content": [{"type": "text", "text": "And where is its headquarters?"}]},
        ]
    )
    assert question == "And where is its headquarters?"
    assert history == [
        {"role": "user", "content": "Who founded the IIJ?"},
        {"role": "assistant", "content": "The GCTF founded it [1]."},
    ]  # as the chat keeps it


# -- the real engine, with keys ---------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("question", [IIJ, "Где находится штаб-квартира IIJ?"])
def test_a_completion_is_the_engines_answer(keyed, real_engine, question):
    response = _openai(keyed).chat.completions.create(
        model="qa", messages=[{"role": "system", "content": "ignored"}, {"role": "user", "content": question}]
    )
    expected = real_engine.answer(question)
    content = response.choices[0].message.content
    assert expected.found and content == _expected_text(expected)
    assert content.startswith(expected.text) and "\n[1] " in content and response.choices[0].finish_reason == "stop"
    extra = response.model_extra
    assert extra["citations"] == _citations(expected) and extra["found"] is True and extra["reason"] == expected.reason


@pytest.mark.integration
def test_streaming_gives_the_same_text_and_citations(keyed, real_engine):
    stream = _openai(keyed).chat.completions.create(
        model="qa", messages=[{"role": "user", "content": IIJ}], stream=True, stream_options={"include_usage": True}
    )
    pieces, last = [], None
    for chunk in stream:
        if chunk.choices:
            pieces.append(chunk.choices[0].delta.content or "")
            if chunk.choices[0].finish_reason:
                last = chunk
    expected = real_engine.answer(IIJ)
    assert len(pieces) > 3 and "".join(pieces) == _expected_text(expected)
    assert last.choices[0].finish_reason == "stop" and last.model_extra["citations"] == _citations(expected)
    assert last.model_extra["found"] is True


@pytest.mark.integration
def test_a_follow_up_reads_the_history_as_the_chat_does(keyed, real_engine):
    from qa.compose import labelled

    client = _openai(keyed)
    first = client.chat.completions.create(model="qa", messages=[{"role": "user", "content": IIJ}])
    follow = "And where is its headquarters?"
    second = client.chat.completions.create(
        model="qa",
        messages=[
            {"role": "user", "content": IIJ},
            {"role": "assistant", "content": first.choices[0].message.content},
            {"role": "user", "content": follow},
        ],
    )
    earlier = real_engine.answer(IIJ)
    expected = real_engine.answer(
        follow, history=[{"role": "user", "content": IIJ}, {"role": "assistant", "content": labelled(earlier)}]
    )
    content = second.choices[0].message.content
    assert content == _expected_text(expected) and ("Valletta" in content or "Валлетт" in content)


@pytest.mark.integration
def test_a_declined_question_is_an_ordinary_message(keyed, real_engine):
    question = "What is the capital of Australia?"
    response = _openai(keyed).chat.completions.create(model="qa", messages=[{"role": "user", "content": question}])
    expected = real_engine.answer(question)
    assert response.choices[0].message.content == expected.text and "do not say" in expected.text
    assert response.model_extra["found"] is False and response.model_extra["citations"] == []
    assert response.model_extra["reason"] == expected.reason != ""


@pytest.mark.integration
def test_api_answer_is_what_qa_ask_json_prints(keyed, real_engine):
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(timeout=120, headers=headers) as c:
        plain = c.post(f"{keyed}/api/answer", json={"question": IIJ})
        follow = c.post(
            f"{keyed}/api/answer",
            json={
                "question": "U qaysi yilda tashkil etilgan?",
                "history": ["IIJni kim tashkil etgan?"],
                "k": 3,
                "language": "uz",
            },
        )
        wrong_k = c.post(f"{keyed}/api/answer", json={"question": IIJ, "k": 500})
    assert plain.status_code == 200
    assert plain.text == json.dumps(real_engine.answer(IIJ).to_dict(), ensure_ascii=False, indent=2) + "\n"
    expected = real_engine.answer(
        "U qaysi yilda tashkil etilgan?", history=["IIJni kim tashkil etgan?"], k=3, language="uz"
    )
    assert follow.json() == json.loads(json.dumps(expected.to_dict()))
    assert wrong_k.status_code == 400 and "k must be between" in wrong_k.json()["error"]["message"]


@pytest.mark.integration
def test_models_are_listed(keyed):
    client = _openai(keyed)
    assert [m.id for m in client.models.list().data] == ["qa"]
    assert client.models.retrieve("qa").id == "qa"


@pytest.mark.integration
def test_keys_are_required_and_wrong_ones_throttled_per_client(keyed):
    import openai

    with pytest.raises(openai.AuthenticationError):
        _openai(keyed, key="wrong").models.list()
    missing = httpx.get(f"{keyed}/v1/models", timeout=30)
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "missing_api_key"
    assert _openai(keyed, key="test-key-2").models.list().data  # either key
    stranger = {"X-Forwarded-For": "198.51.100.7"}  # another address (uvicorn trusts the header from loopback)
    for _ in range(3):  # three free failures; the third starts a lock-out
        with pytest.raises(openai.AuthenticationError):
            _openai(keyed, key="guess", default_headers=stranger).models.list()
    with pytest.raises(openai.RateLimitError) as refused:
        _openai(keyed, key=KEY, default_headers=stranger).models.list()  # locked out, even with the right key
    assert int(refused.value.response.headers["retry-after"]) >= 1
    assert _openai(keyed).models.list().data  # everyone else is not


@pytest.mark.integration
def test_an_oversized_message_is_refused_at_once_and_others_are_answered(keyed, real_engine):
    import openai

    client = _openai(keyed)
    started = time.perf_counter()
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="qa", messages=[{"role": "user", "content": "x" * 100_000}])
    # refused before any work (embedding it would take tens of seconds here)
    assert time.perf_counter() - started < 10 and refused.value.code == "question_too_long"
    assert "1,000" in refused.value.message

    codes = []

    def flood():
        with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {KEY}"}) as c:
            for _ in range(10):
                codes.append(
                    c.post(
                        f"{keyed}/v1/chat/completions",
                        json={"model": "qa", "messages": [{"role": "user", "content": "Кто основал IIJ? " * 6000}]},
                    ).status_code
                )

    threads = [threading.Thread(target=flood) for _ in range(3)]
    for t in threads:
        t.start()
    times = []
    for _ in range(3):
        t = time.perf_counter()
        answer = client.chat.completions.create(model="qa", messages=[{"role": "user", "content": IIJ}])
        times.append(time.perf_counter() - t)
        assert "GCTF" in answer.choices[0].message.content
    for t in threads:
        t.join(60)
    assert codes == [400] * 30 and len(times) == 3, times  # refused, and the others answered meanwhile
    with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {KEY}"}) as c:
        huge = c.post(
            f"{keyed}/v1/chat/completions",
            content=b'{"messages": "' + b"x" * 2_000_000 + b'"}',
            headers={"Content-Type": "application/json"},
        )
        long_history = c.post(
            f"{keyed}/v1/chat/completions",
            json={
                "model": "qa",
                "messages": [{"role": "user", "content": "y" * 100_000}, {"role": "user", "content": IIJ}],
            },
        )
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "request_too_large"
    assert long_history.status_code == 200  # an earlier message is cut, as in the chat


# -- access without keys (no model needed) ------------------------------------------------------------


def test_open_when_neither_a_key_nor_a_login_is_set(small_engine):
    from qa.ui.app import launch

    port = _free_port()
    demo = launch(small_engine, host="127.0.0.1", port=port, block=False)
    url = f"http://127.0.0.1:{port}"
    try:
        answer = _openai(url, key="anything").chat.completions.create(
            model="qa", messages=[{"role": "user", "content": IIJ}]
        )
        bare = httpx.post(f"{url}/api/answer", json={"question": IIJ}, timeout=60)
        empty = httpx.post(f"{url}/api/answer", json={"question": "  "}, timeout=60)
        unknown = httpx.post(f"{url}/v1/chat/completions", json={"model": "gpt-4o", "messages": []}, timeout=60)
    finally:
        demo.close()
    assert answer.choices[0].message.content == _expected_text(small_engine.answer(IIJ))
    assert bare.status_code == 200 and bare.json()["question"] == IIJ
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "empty_question"
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_not_found"


def test_without_keys_the_chats_login_is_required(small_engine):
    import openai

    from qa.ui.app import launch

    port = _free_port()
    demo = launch(small_engine, host="127.0.0.1", port=port, auth="alice:s3cret", block=False)
    url = f"http://127.0.0.1:{port}"
    try:
        none = httpx.get(f"{url}/v1/models", timeout=30)
        basic = httpx.post(f"{url}/api/answer", json={"question": IIJ}, auth=("alice", "s3cret"), timeout=60)
        models = _openai(url, key="alice:s3cret").models.list()  # Bearer user:password, for OpenAI clients
        with pytest.raises(openai.AuthenticationError):
            _openai(url, key="alice:wrong").models.list()
        wrong = httpx.get(f"{url}/v1/models", auth=("alice", "nope"), timeout=30)
    finally:
        demo.close()
    assert none.status_code == 401 and none.headers["www-authenticate"].startswith("Basic")
    assert basic.status_code == 200 and basic.json() == json.loads(json.dumps(small_engine.answer(IIJ).to_dict()))
    assert [m.id for m in models.data] == ["qa"]
    assert wrong.status_code == 401
