# The two commands a fresh machine needs: `make run` (app on the sample record) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STORE ?= .exhibitqa
EXHIBITS ?= data/exhibits

.PHONY: run test test-random index lint clean chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

# The `local` extra builds llama-cpp-python from source once (pip caches the wheel); the
# portable build (no -march=native) keeps that cached wheel valid on any x86-64 CPU.
$(STAMP): pyproject.toml | $(BIN)/python
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/python -m pip install --quiet -e ".[dev,local,notebook]"
	touch $(STAMP)

# A no-op when the index is current (the manifest records source hashes and settings).
index: $(STAMP)
	$(BIN)/exhibitqa index $(EXHIBITS) --store $(STORE)

run: index
	EXHIBITQA_STORE=$(STORE) $(BIN)/python app.py

# The browser tests drive Debian's chromium (Playwright's own browser download is not reachable).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends chromium >/dev/null \
	  || { $$SUDO apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends chromium >/dev/null; }; }

test: index chromium
	EXHIBITQA_SEED_STORE=$(STORE) EXHIBITQA_REQUIRE_LOCAL=1 EXHIBITQA_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -q

# The suite in random order (pytest-randomly; the seed is printed: SEED=N repeats an order).
test-random: index chromium
	EXHIBITQA_SEED_STORE=$(STORE) EXHIBITQA_REQUIRE_LOCAL=1 EXHIBITQA_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -p randomly $(if $(SEED),--randomly-seed=$(SEED))

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy qa index eval app.py

clean:
	rm -rf $(VENV) $(STORE) .$(STORE).* $(STORE)-uploads .pytest_cache .mypy_cache .ruff_cache
