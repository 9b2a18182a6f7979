# parbench: `make bench` runs the main job, `make test` the tests. Both build .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SCALES ?= 1 10
DATA   ?= data
ENGINES   = $(shell $(BIN)/python -c "from workloads import engines; print(' '.join(engines.names()))")
WORKLOADS = wordcount mean_home_score home_advantage team_records team_ratings

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
	@for scale in $(SCALES); do for w in $(WORKLOADS); do for e in $(ENGINES); do \
		$(BIN)/python -m workloads run $$w --engine $$e --data $(DATA)/scale-$$scale || exit 1; \
	done; done; done

clean:
	rm -rf $(VENV) .asv reports/html .pytest_cache
