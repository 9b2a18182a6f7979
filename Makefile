# parbench: `make bench` runs the main job, `make test` the tests. Both build .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
QUICK  ?=
ifeq ($(QUICK),1)
# A first look in under 5 minutes: scale 1, one worker (every engine has a bar), the timings only
# (no start-up or peak-memory benchmark), one warm-up call and one timed call per combination.
# (`asv run --quick` would time the first, cold call.)
SCALES    ?= 1
WORKERS   ?= 1
ASV_FLAGS ?= -a repeat=1 -a rounds=1 --bench 'time_'
else
SCALES    ?= 1 10
endif
WORKERS ?=
MACHINE ?= $(shell hostname)
DATA   ?= data

.PHONY: venv tools test lint bench data clean
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

# Java (Spark), Slurm (the batch engine on Slurm) and Chromium (the report's browser test):
# installed where missing when run as root; otherwise the tests that need them are skipped, each
# with the command that installs it.
tools:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		for tool in java slurm chromium; do \
			bash .ci/install-$$tool.sh || echo "$$tool: not installed; the tests that need it are skipped"; \
		done; \
	else \
		echo "not root: Java, Slurm and Chromium are not installed by make; tests that need a missing one are skipped (.ci/install-*.sh installs them)"; \
	fi

test: venv lint tools
	$(BIN)/python -m pytest -q

data: venv
	$(BIN)/python -m datagen --tutorial --out $(DATA)
	$(BIN)/python -m datagen --scale $(SCALES) --out $(DATA)

bench: data
	@mkdir -p .asv/parbench
	$(BIN)/asv machine --yes --machine $(MACHINE) > /dev/null
	$(BIN)/python -m workloads engines --json > .asv/parbench/$(MACHINE)-versions.json
	PARBENCH_DATA=$(abspath $(DATA)) PARBENCH_SCALES="$(SCALES)" PARBENCH_WORKERS="$(WORKERS)" \
		$(BIN)/python -m benchmarks.progress --machine $(MACHINE) -- $(BIN)/asv run --python=same \
		--machine $(MACHINE) --set-commit-hash $$(git rev-parse HEAD) $(ASV_FLAGS); \
	status=$$?; $(BIN)/python -m reports --machine $(MACHINE) && exit $$status

clean:
	rm -rf $(VENV) .asv reports/html .pytest_cache
