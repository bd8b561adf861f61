# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INPUT ?= data/sample
OUTPUT ?= out
SCALE ?= 1
DEV_OUTPUT ?= $(OUTPUT)/dev
# the package extras installed: dev (tests, benchmarks); dev,spark adds the Spark identity engine
EXTRAS ?= dev
comma := ,
INSTALLED := $(VENV)/installed-$(subst $(comma),-,$(EXTRAS))

export DAGSTER_HOME := $(CURDIR)/$(OUTPUT)/dagster_home
export GX_ANALYTICS_ENABLED := false
export DAGSTER_DISABLE_TELEMETRY := true

.PHONY: run test dev bench sample clean

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

run: $(INSTALLED) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/crm run --input $(INPUT) --output $(OUTPUT)

test: $(INSTALLED) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/pytest -q

# the UI's runs write their own output folder: `make run` and `make dev` never share a warehouse
dev: $(INSTALLED) $(DAGSTER_HOME)/dagster.yaml
	CRM_INPUT_DIR=$(CURDIR)/$(INPUT) CRM_OUTPUT_DIR=$(CURDIR)/$(DEV_OUTPUT) \
		$(BIN)/dagster dev -m pipelines.definitions -h 127.0.0.1 -p 3000

bench: $(INSTALLED) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m bench.run --scale $(SCALE)
	$(BIN)/python -m bench.engines

# Regenerates the committed sample landing folder and its ground truth.
sample: $(INSTALLED)
	rm -rf data/sample data/sample_truth
	$(BIN)/crm generate --out data/sample --truth data/sample_truth --dealers 6 --customers 3000 --seed 7

clean:
	rm -rf $(OUTPUT)
