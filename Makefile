# The two commands: `make demo` (the live demo) and `make test` (the whole test suite).
.PHONY: demo test bootstrap serve lint bench clean-db

demo:
	@scripts/bootstrap.sh --no-browser
	.venv/bin/lowalt demo

test: bootstrap
	.venv/bin/python -m pytest -q

bootstrap:
	@scripts/bootstrap.sh

serve:
	@scripts/bootstrap.sh --no-browser
	.venv/bin/lowalt serve

lint: bootstrap
	.venv/bin/ruff check lowalt simulators tests

bench: bootstrap
	.venv/bin/lowalt bench cd --n 10000
	.venv/bin/lowalt bench airspace --n 10000

clean-db:
	-.venv/bin/lowalt db stop
	rm -rf .lowalt
