# Two set-up commands, both idempotent: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MODEL  := models/embedding/model_card.json
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test install models sample loadtest bench clean opensearch-test browser

run: $(STAMP) models sample  ## serve the sample corpus on 127.0.0.1:8080
	$(BIN)/hybrid-search serve --dev --bind 127.0.0.1:8080

test: $(STAMP) models browser  ## the whole test suite
	$(BIN)/python -m pytest

install: $(STAMP)

# torch first, pinned, so nothing resolves a multi-GB CUDA build.
$(STAMP): setup.cfg pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# Lucene 9.5 for the lucene-bm25 reference system: only the wheel's jar is used.
	$(BIN)/python -m pip install --quiet --no-deps pyserini==0.22.1
	touch $(STAMP)

# Debian's Chromium and its driver, for the workbench browser test (skipped when present).
browser:  ## headless Chromium for tests/app/api/test_workbench_browser.py
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || { \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; }

models: $(STAMP)  ## export the embedding model to ONNX (skipped when up to date)
	$(BIN)/hybrid-search export-models

sample: $(STAMP) models  ## ingest the sample corpus (unchanged documents are skipped)
	$(BIN)/hybrid-search ingest --quiet sample_data/corpus.jsonl

loadtest: $(STAMP) models sample  ## release latency budgets with Locust
	$(BIN)/python loadtests/run.py

# Needs Docker, which the project's own machines lack: it has not run here.
opensearch-test: $(STAMP)  ## the live-cluster suite against docker-compose.yml's single node
	@command -v docker >/dev/null || { echo "make opensearch-test needs Docker (docker compose)"; exit 1; }
	docker compose up -d --wait opensearch
	OPENSEARCH_URL=http://127.0.0.1:9200 $(BIN)/python -m pytest -m opensearch tests/app/backends/test_opensearch_live.py

clean:
	rm -rf data reports
