# parbench: `make bench` runs the main job, `make test` the tests. Both build .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
QUICK  ?=
ifeq ($(QUICK),1)
# A first look in about 5 minutes: one scale, the timings only (no start-up or peak-memory
# benchmark), one sample per combination.
SCALES    ?= 1
ASV_FLAGS ?= --quick --bench 'time_'
else
SCALES    ?= 1 10
endif
MACHINE ?= $(shell hostname)
DATA   ?= data

.PHONY: venv test lint bench data clean
venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else \
		"parbench needs Python >= 3.10; set PYTHON=/path/to/python3.10+")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[all,test]'
	touch $@

lint: venv
	$(BIN)/ruff check .

test: venv lint
	$(BIN)/python -m pytest -q

data: venv
	$(BIN)/python -m datagen --tutorial --out $(DATA)
	$(BIN)/python -m datagen --scale $(SCALES) --out $(DATA)

bench: data
	@mkdir -p .asv/parbench
	$(BIN)/asv machine --yes --machine $(MACHINE) > /dev/null
	$(BIN)/python -m workloads engines --json > .asv/parbench/$(MACHINE)-versions.json
	PARBENCH_DATA=$(abspath $(DATA)) PARBENCH_SCALES="$(SCALES)" $(BIN)/asv run --python=same \
		--machine $(MACHINE) --set-commit-hash $$(git rev-parse HEAD) $(ASV_FLAGS); \
	status=$$?; $(BIN)/python -m reports --machine $(MACHINE) && exit $$status

clean:
	rm -rf $(VENV) .asv reports/html .pytest_cache
