# Two commands for a newcomer (Python 3.11+):
#   make run    start the app; the first start creates the demo database (seconds; the model trains
#               in the background, about 80 s)
#   make test   run the whole test suite
# Both create .venv and install the pinned requirements when they change.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run serve test demo clean

run: $(VENV)/.app-installed
	$(BIN)/streamlit run server.py

# two workers, one test file each at a time (a file's fixtures are built once): the suite takes about 1,060 s
# in one process, over its 15-minute budget; TEST_WORKERS=0 runs it in one process
TEST_WORKERS ?= 2

# a proxy, REPLICAS app processes and the worker (docs/deployment.md); the database must exist (make demo)
REPLICAS ?= 2
serve: $(VENV)/.serve-installed
	$(BIN)/python -m analytics serve --replicas $(REPLICAS)

test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

demo: $(VENV)/.app-installed
	$(BIN)/python -m analytics demo

$(VENV)/.app-installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.serve-installed: requirements-serve.txt $(VENV)/.app-installed
	$(BIN)/python -m pip install --quiet -r requirements-serve.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt requirements-serve.txt $(VENV)/.app-installed
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache
