# kracht: `make demo` and `make test` work on a fresh machine with Python 3.11, make and the
# package registries; each sets itself up first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export KRACHT_HOME ?= $(CURDIR)/.kracht

.PHONY: install demo test test-unit lint bench model-nlp train label-studio label-studio-install \
        prefect-server browser lock clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

demo: install
	$(BIN)/kracht run data/sample

test: install label-studio-install browser
	$(BIN)/python -m pytest

test-unit: install
	$(BIN)/python -m pytest tests/unit tests/regression

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python -m bench

model-nlp: install
	$(BIN)/python -m models.nl_kracht_ud.build

train: install
	$(BIN)/kracht train --curve learning_curve.png

label-studio-install: install
	$(BIN)/python -m annotation.server install

label-studio: label-studio-install
	$(BIN)/python -m annotation.server start

prefect-server: install
	PREFECT_HOME=$(KRACHT_HOME)/prefect PREFECT_SERVER_ANALYTICS_ENABLED=false \
		$(BIN)/prefect server start --host 127.0.0.1 --port 4200

# Debian's chromium renders the report in the browser test; installed when we may (root + apt).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
			|| echo "note: could not install chromium; the browser test will be skipped"; \
		else echo "note: chromium not installed; the browser test will be skipped"; fi; }

lock: install
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^kracht' > requirements.lock

clean:
	rm -rf $(VENV) .venv-ls .kracht .pytest_cache
