# parbench: `make bench` runs the main job, `make test` the tests. Both build .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
QUICK  ?=
MEMORY ?=
HOSTS  ?=
ifneq ($(MEMORY),)
# Data larger than memory: every engine under a memory budget of MEMORY (e.g. 1GiB) for its whole
# process tree, at the scales whose input is about 0.5, 2 and 4 times it
# (benchmarks/memory_plan.py), on two workers; the group-by, the sort by key and the join, one
# timed call each, at most TIMEOUT seconds a combination. Its results go to a machine of their
# own (NAME-memory-SIZE): asv would otherwise replace the in-memory results of those workloads.
WORKERS   ?= 2
TIMEOUT   ?= 120
MACHINE   ?= $(shell hostname)-memory-$(MEMORY)
ONCE      := -a repeat=1 -a rounds=1 -a warmup_time=0
ASV_FLAGS ?= $(ONCE) --bench "$$($(BIN)/python -m benchmarks.memory_plan bench)"
BENCH_SCALES = $$($(BIN)/python -m benchmarks.memory_plan scales $(MEMORY) $(DATA))
# pandas and serial run on one worker only: a run of their own at one worker keeps their rows.
ONE_WORKER_RUN = $(call asv_run,1,$(ONCE) \
	--bench "$$($(BIN)/python -m benchmarks.memory_plan bench-one-worker)") || status=$$?;
else ifneq ($(HOSTS),)
# Over a network (root only): the engines that run on a cluster (dask-distributed, spark, ray),
# each on its cluster spread over HOSTS emulated hosts, the links between them shaped to LINK
# (e.g. 100mbit; unshaped without), one worker per worker host: their timings and the bytes over
# the wire (benchmarks/network_plan.py brings each cluster up and down). Results go to a machine
# of their own per host count and rate (NAME-hosts-N-LINK), which the report sets side by side.
LINK        ?=
MACHINE     ?= $$($(BIN)/python -m benchmarks.network_plan machine $$(hostname) $(HOSTS) $(LINK))
NETWORK_RUN  = $(BIN)/python -m benchmarks.network_plan run $(HOSTS) $(LINK) --
else ifeq ($(QUICK),1)
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
TIMEOUT ?= 1800
BENCH_SCALES ?= $(SCALES)

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
ifeq ($(MEMORY),)
	$(BIN)/python -m datagen --tutorial --out $(DATA)
	$(BIN)/python -m datagen --scale $(SCALES) --out $(DATA)
else
	$(BIN)/python -m datagen --scale 1 --out $(DATA)
	$(BIN)/python -m datagen --scale $(BENCH_SCALES) --formats csv --out $(DATA)
endif

bench: data
	@mkdir -p .asv/parbench
	$(BIN)/asv machine --yes --machine $(MACHINE) > /dev/null
	$(BIN)/python -m workloads engines --json > .asv/parbench/$(MACHINE)-versions.json
	$(call asv_run,$(WORKERS),$(ASV_FLAGS)); status=$$?; $(ONE_WORKER_RUN) \
	$(BIN)/python -m reports --machine $(MACHINE) && exit $$status

# One asv run of this commit at worker counts $(1) with asv's flags $(2), with its progress.
asv_run = PARBENCH_DATA=$(abspath $(DATA)) PARBENCH_SCALES="$(BENCH_SCALES)" \
	PARBENCH_WORKERS="$(1)" PARBENCH_MEMORY="$(MEMORY)" PARBENCH_TIMEOUT="$(TIMEOUT)" \
	$(NETWORK_RUN) $(BIN)/python -m benchmarks.progress --machine $(MACHINE) -- $(BIN)/asv run --python=same \
	--machine $(MACHINE) --set-commit-hash $$(git rev-parse HEAD) $(2)

clean:
	rm -rf $(VENV) .asv reports/html .pytest_cache
