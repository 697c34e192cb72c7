"""A property-based state-machine test of the library (as chroma tests its store): random sequences of add,
update, remove, rebuild, a crash at a random point of a write, and reopening, with the invariants checked
after every step.

Invariants:
- every listed document is found by its own words, from its own chunks only, and all of its chunks are there;
- nothing removed is ever retrieved;
- after a completed operation the manifest and the store list the same documents and versions;
- after a crash the store is in the state before or after the interrupted operation, never between.

Bounded for CI (``QA_STATE_EXAMPLES``, default 8 sequences of up to 8 steps); ``make soak`` runs many more.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule  # noqa: E402

NAMES = ["alpha.txt", "beta.md", "gamma.txt"]
VERSIONS = 3
# Each version of each document has a word of its own, so retrieval can tell documents and versions apart.
_WORDS = [
    "zebrafinch",
    "quokkaland",
    "narwhalbay",
    "axolotlpond",
    "okapiwood",
    "pangolinhill",
    "marmotcliff",
    "ibisriver",
    "tapirgrove",
]
WORDS = {(name, v): _WORDS[i * VERSIONS + v] for i, name in enumerate(NAMES) for v in range(VERSIONS)}


def _text(name: str, version: int) -> str:
    word = WORDS[name, version]
    return f"{name} version {version}. The {word} report was filed. Nothing else about {word} is known."


class Crash(BaseException):
    """Stands for kill -9: nothing after it runs (BaseException, so no except Exception swallows it)."""


class LibraryStates(RuleBasedStateMachine):
    @initialize()
    def start(self):
        self.home = Path(tempfile.mkdtemp(prefix="qa-states-"))
        self.docs = self.home / "docs"
        self.docs.mkdir()
        self.model: dict[str, int] = {}  # name -> version the library should hold
        self.maybe: dict[str, set] = {}  # after a crash: name -> versions it may hold (None: absent)
        self._open()

    def teardown(self):
        from chromadb.api.client import SharedSystemClient

        SharedSystemClient.clear_system_cache()
        shutil.rmtree(self.home, ignore_errors=True)

    def _open(self):
        from chromadb.api.client import SharedSystemClient

        from tests.conftest import make_engine

        SharedSystemClient.clear_system_cache()  # as a new process would
        self.engine = make_engine(self.home / "qa", auto_build=False)

    def _write_file(self, name: str, version: int) -> Path:
        path = self.docs / name
        path.write_text(_text(name, version), encoding="utf-8")
        return path

    # -- operations ------------------------------------------------------------------------------

    @rule(name=st.sampled_from(NAMES), version=st.integers(0, VERSIONS - 1))
    def add(self, name, version):
        self.engine.library.add([self._write_file(name, version)])
        self.model[name] = version
        self.maybe.pop(name, None)

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def remove(self, data):
        from qa.errors import DocumentNotFound

        name = data.draw(st.sampled_from(sorted(self.model)))
        try:
            self.engine.library.remove(name)
        except DocumentNotFound:  # only an add that crashed before its batch was recorded leaves nothing to remove
            assert None in self.maybe.get(name, set()), name
        del self.model[name]
        self.maybe.pop(name, None)

    @precondition(lambda self: self.model)
    @rule()
    def rebuild(self):
        self.engine.library.rebuild()
        # A rebuild indexes what the manifest says. After a crash that is the state before or after the
        # interrupted write (a batch is recorded just before it is switched): from now on, the state.
        listed = {d.name: d for d in self.engine.library.snapshot().documents.values()}
        for name, allowed in self.maybe.items():
            text = self.engine.library.snapshot().text(name) if name in listed else ""
            version = next((v for v in range(VERSIONS) if WORDS[name, v] in text), None)
            assert version in allowed, (name, version, allowed)
            if version is None:
                self.model.pop(name, None)
            else:
                self.model[name] = version
        self.maybe.clear()

    @rule(
        name=st.sampled_from(NAMES),
        version=st.integers(0, VERSIONS - 1),
        point=st.sampled_from(["embed", "write", "after-switch"]),
    )
    def crash_during_add(self, name, version, point):
        from qa.index import store

        before = self.maybe.get(name, {self.model.get(name)})  # what the store may hold now
        path = self._write_file(name, version)
        patches = {"embed": "_embed_nodes", "write": "_write_nodes", "after-switch": "_sweep"}
        attr = patches[point]
        original = store.Store.__dict__[attr]
        calls = {"n": 0}
        # _sweep runs once before the switch and once after: crash on the second call.
        crash_on = 2 if point == "after-switch" else 1

        def crashing(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] >= crash_on:
                raise Crash()
            fn = original.__func__ if isinstance(original, staticmethod) else original
            return fn(*args, **kwargs)

        setattr(store.Store, attr, staticmethod(crashing) if isinstance(original, staticmethod) else crashing)
        crashed = False
        try:
            self.engine.library.add([path])
        except Crash:
            crashed = True
        finally:
            setattr(store.Store, attr, original)
        self._open()  # the process died: a new one opens the index
        self.model[name] = version  # what the user asked for (the manifest's state)
        if crashed:
            self.maybe[name] = before | {version}
        else:  # no crash point was reached: the add completed
            # embed / write: only when there was nothing to write (this version was already indexed); after-switch:
            # also when _sweep ran once (the first generation has no sweep before the switch)
            if point != "after-switch":
                assert version in before
            self.maybe.pop(name, None)

    @rule()
    def reopen(self):
        self._open()

    # -- invariants ------------------------------------------------------------------------------

    @invariant()
    def listed_documents_are_whole_and_found_by_their_own_words(self):
        if not hasattr(self, "engine"):
            return
        store = self.engine.library.store
        if not store.exists():
            assert all(v is None for v in self.model.values()) or not self.model or self.maybe
            return
        snapshot = self.engine.library.snapshot()
        listed = {d.name: d for d in snapshot.documents.values()}
        for name in NAMES:
            allowed = self.maybe.get(name, {self.model.get(name)})
            if name in listed:
                text = snapshot.text(name)
                version = next(v for v in range(VERSIONS) if WORDS[name, v] in text)
                assert version in allowed, (name, version, allowed)
                own = [c for c in snapshot.chunks if c.source == name]
                assert len(own) == listed[name].chunks  # all of its chunks, none half-written
                assert all(c.doc_hash == listed[name].content_hash for c in own)
                hits = self.engine.retrieve(f"What about the {WORDS[name, version]} report?", k=1)
                assert hits and hits[0].source == name and WORDS[name, version] in hits[0].text
            else:
                assert None in allowed, (name, allowed)
        listed_text = "".join(snapshot.text(n) for n in listed)
        for word in WORDS.values():  # what is not listed is never retrieved
            if word not in listed_text:
                assert all(word not in p.text for p in self.engine.retrieve(f"the {word} report", k=3))

    @invariant()
    def manifest_and_store_agree_after_completed_operations(self):
        if not hasattr(self, "engine") or self.maybe:
            return
        manifest = {name: e["hash"] for name, e in self.engine.library.manifest.entries().items()}
        store = self.engine.library.store
        listed = (
            {d.name: d.content_hash for d in self.engine.library.snapshot().documents.values()}
            if store.exists()
            else {}
        )
        assert manifest == listed
        assert set(listed) == set(self.model)


EXAMPLES = int(os.environ.get("QA_STATE_EXAMPLES", "8"))
LibraryStates.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=8,
    deadline=None,
    derandomize=EXAMPLES <= 8,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_library_state_machine = LibraryStates.TestCase
