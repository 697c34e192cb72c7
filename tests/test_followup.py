from qa.answering.followup import resolve, turns_from_history


def test_gradio_messages_become_turns():
    history = [
        {"role": "user", "content": "Who founded the IIJ?"},
        {"role": "assistant", "content": "The IIJ was founded in 2014 ... [1]"},
    ]
    turns = turns_from_history(history)
    assert turns[0].question == "Who founded the IIJ?"
    assert "[1]" not in turns[0].answer


def test_followups_are_resolved_in_three_languages():
    for lang, earlier, question in [
        ("en", "Who founded the IIJ?", "And where is its headquarters?"),
        ("ru", "Когда проходило первое заседание Совета?", "А где он проходил?"),
        ("uz", "IIJni kim tashkil etgan?", "U qaysi yilda tashkil etilgan?"),
    ]:
        r = resolve(question, lang, [{"role": "user", "content": earlier}, {"role": "assistant", "content": "x"}])
        assert r.is_followup, question
        assert earlier in r.retrieval_query and question in r.retrieval_query


def test_a_self_contained_question_is_not_rewritten():
    r = resolve("When was the Regional Expert Council created in Tashkent?", "en", ["Who founded the IIJ?"])
    assert not r.is_followup and r.retrieval_query == r.question
    assert not resolve("Who founded the IIJ?", "en", None).is_followup
