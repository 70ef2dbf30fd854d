#!/usr/bin/env bash
# Bring a fresh Debian machine (or an existing checkout) to a runnable state. Idempotent and quick
# when already done: system packages only when missing, the virtualenv only when pyproject changed.
#   scripts/bootstrap.sh            server + tests (including Debian's chromium for the map's browser tests)
#   scripts/bootstrap.sh --no-browser  skip chromium (the map e2e tests then skip themselves)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
WANT_BROWSER=1
[ "${1:-}" = "--no-browser" ] && WANT_BROWSER=0

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "bootstrap: need root to run: $*" >&2; exit 1; fi
}

APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" = 0 ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  echo "bootstrap: installing $* from Debian's packages"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# 1. PostgreSQL + PostGIS (the managed local cluster runs on these)
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  apt_install postgresql
fi
if ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
  ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
  apt_install "postgresql-${ver}-postgis-3"
fi
# Debian's package starts a system cluster on port 5432; lowalt does not use it (unix socket, own folder).

# 2. Map e2e tests: Debian's chromium, driven by the Python playwright package (dev extras); Playwright's
#    own browser downloads are never used (tests launch /usr/bin/chromium)
if [ "$WANT_BROWSER" = 1 ]; then
  command -v chromium >/dev/null || apt_install chromium
fi

# 3. Virtualenv with the package and its dev extras
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "bootstrap: lowalt needs Python >= 3.11 (found $("$PYTHON" --version))" >&2; exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv 2>/dev/null || { apt_install python3-venv; "$PYTHON" -m venv .venv; }
fi
stamp=.venv/.lowalt-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  echo "$want" > "$stamp"
fi
