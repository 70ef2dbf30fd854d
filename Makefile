# The two commands: `make demo` (the live demo) and `make test` (the whole test suite).
.PHONY: demo demo-cluster test bootstrap serve lint typecheck lock bench clean-db

demo:
	@scripts/bootstrap.sh --no-browser
	.venv/bin/lowalt demo

# several nodes on this machine: PostGIS, nats-server (JetStream), 2 servers, demo traffic (docs/scale.md)
demo-cluster:
	@scripts/bootstrap.sh --no-browser
	.venv/bin/lowalt cluster --nodes 2 --aircraft $${LOWALT_DEMO_AIRCRAFT:-100}

# lint and types first (seconds), then the tests
test: bootstrap lint typecheck
	.venv/bin/python -m pytest -q

bootstrap:
	@scripts/bootstrap.sh

serve:
	@scripts/bootstrap.sh --no-browser
	.venv/bin/lowalt serve

lint: bootstrap
	.venv/bin/ruff check lowalt simulators tests

typecheck: bootstrap
	.venv/bin/mypy

# regenerate the lock file after changing pyproject.toml's dependencies
lock:
	.venv/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
		--no-emit-find-links --extra dev -o requirements-dev.lock pyproject.toml

bench: bootstrap
	.venv/bin/lowalt bench cd --n 10000
	.venv/bin/lowalt bench airspace --n 10000

clean-db:
	-.venv/bin/lowalt db stop
	rm -rf .lowalt
