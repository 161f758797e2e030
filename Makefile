# Two entry points for a fresh clone: `make run` (set up and start the bot) and `make test`
# (set up and run the whole test suite, as CI does). Both create .venv with Python 3.11+ on first
# use. `make test-fast` is the edit loop: the tests on SQLite only, no lint.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# Tests run side by side, one worker a CPU (pytest-xdist): each worker has its own PostgreSQL
# database and temporary folders, and the fake Bot API servers take free ports.
TEST_WORKERS ?= auto

.PHONY: run demo test test-fast test-fuzz lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("kaohe needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

.env:
	cp .env.example .env
	@echo "Created .env from .env.example: put your BOT_TOKEN in it."

# Without a BOT_TOKEN in .env this starts the sandbox (the bot and the example town in the
# browser, no Telegram); with one, the live bot.
run: $(STAMP) .env
	$(BIN)/kaohe run --or-sandbox

# A whole quarter of the example town played by itself in the sandbox (no token, no Telegram):
# the terminal tells it day by day; demo-output/ gets the sheet, the chart and every chat as a page.
demo: $(STAMP)
	$(BIN)/kaohe demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m compileall -q bot storage tests bench
	$(BIN)/mypy bot storage
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

# The edit loop: every test on SQLite only (the PostgreSQL runs are left out), side by side,
# without the lint steps. `make test` still runs both backends, as CI does.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) -k "not postgresql"

# The long fuzz run: FUZZ_STEPS steps (default 20000) per backend from FUZZ_SEED (default: the
# seed of the fast slice in `make test`); a failure prints the seed and step that replay it.
FUZZ_STEPS ?= 20000
test-fuzz: $(STAMP)
	FUZZ_STEPS=$(FUZZ_STEPS) $(BIN)/python -m pytest tests/chat/test_fuzz.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy bot storage

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
