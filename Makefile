# Two commands for people (see README): `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test soak install lint typecheck bench bench-fleet lock clean audit

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,demo]'
	@touch $(STAMP)

install: $(STAMP)

## The embedded demo: simulator, mail catcher, portal, scheduler and worker on SQLite.
run: $(STAMP)
	$(BIN)/hrsync demo

## The whole test suite (installs what it needs first), on TEST_WORKERS pytest-xdist workers (README, Testing).
## A module with a module-scoped fixture (the portal, a shared simulator) stays on one worker; other tests
## spread one by one. TEST_WORKERS=0 runs everything in this one process.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python scripts/audit_deps.py
	@bash scripts/ensure-chromium.sh
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

## The long versions of the reliability tests (docs/reliability.md): new random histories against the
## reference model (SOAK_HISTORIES on SQLite, a fifth on PostgreSQL, up to SOAK_STEPS steps each), then the
## kill soak: imports and Celery workers SIGKILLed at seeded random moments (tests/sync/test_kill_imports.py).
## SOAK_SEED, SOAK_KILLS (per database, default 50), SOAK_WORKER_KILLS (per broker, default 2), SOAK_PEOPLE (20000).
SOAK_HISTORIES ?= 3000
SOAK_STEPS ?= 30
soak: $(STAMP)
	HRSYNC_MODEL_RANDOM=1 HRSYNC_MODEL_EXAMPLES=$(SOAK_HISTORIES) HRSYNC_MODEL_STEPS=$(SOAK_STEPS) \
		$(BIN)/python -m pytest tests/sync/test_history_model.py -s -q -p no:cacheprovider
	KILL_SOAK=1 $(BIN)/python -m pytest tests/sync/test_kill_imports.py -m soak -s -q -p no:cacheprovider

## Known vulnerabilities in the pinned and installed dependencies (offline list, pip-audit when reachable).
audit: $(STAMP)
	$(BIN)/python scripts/audit_deps.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

## The import benchmark (BENCHMARKS.md); installs the bench extra (matplotlib, for --growth) first.
## Options through BENCH_ARGS, e.g. make bench BENCH_ARGS="--database postgresql --growth 10000,20000,50000".
bench: $(STAMP)
	@$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,demo,bench]'
	$(BIN)/python -m bench.run_bench $(BENCH_ARGS)

## The fleet benchmark (BENCHMARKS.md, "Fleet"): 2,000 programmes due in one minute on PostgreSQL + Redis with
## Celery workers (threads), 1,000 on SQLite in embedded mode; needs the services on 127.0.0.1; about 12 min.
## FLEET_ARGS=--quick: < 2 min.
bench-fleet: $(STAMP)
	@$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,demo,bench]'
	$(BIN)/python -m bench.fleet $(FLEET_ARGS)

## Re-pin every dependency after changing pyproject.toml.
lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv
	.lockvenv/bin/pip install --quiet --upgrade pip
	.lockvenv/bin/pip install --quiet '.[test,demo,bench]'
	.lockvenv/bin/pip freeze --exclude hrsync > constraints.txt
	rm -rf .lockvenv

clean:
	rm -rf $(VENV) var artifacts
