#!/usr/bin/env bash
# Bring a fresh Debian machine (or an existing checkout) to a runnable state. Idempotent and quick
# when already done: system packages only when missing, the virtualenv only when the lock file changed.
#   scripts/bootstrap.sh            server + tests (the dev set: Debian's chromium for the map's browser
#                                   tests, gdal-bin for the QGIS/OGR checks of the PostGIS views)
#   scripts/bootstrap.sh --no-browser  skip the dev set (those tests then skip themselves)
# Python packages come from requirements-dev.lock (pip-tools, exact versions with hashes); regenerate it
# after changing pyproject.toml with `make lock`.
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

# 1b. NATS with JetStream: the bus between nodes (LOWALT_NATS_URL; `make demo-cluster`, tests/bus).
#     One node without it runs on the in-process bus; Debian's package may start a system service on
#     4222, which lowalt does not use (the tests and `lowalt cluster` start their own servers).
if ! command -v nats-server >/dev/null && [ ! -x /usr/sbin/nats-server ]; then
  apt_install nats-server
fi

# 1c. ADS-B receiver software: tests/feeds drives a real dump1090 (Beast in, SBS out) for lowalt's client.
command -v dump1090-mutability >/dev/null || apt_install dump1090-mutability

# 2. The dev set. Map e2e tests: Debian's chromium, driven by the Python playwright package (dev extras);
#    Playwright's own browser downloads are never used (tests launch /usr/bin/chromium). GIS checks:
#    gdal-bin's ogrinfo reads the QGIS-facing PostGIS views.
if [ "$WANT_BROWSER" = 1 ]; then
  command -v chromium >/dev/null || apt_install chromium
  command -v ogrinfo >/dev/null || apt_install gdal-bin
  # a CJK font: the map (and a kiosk browser on this machine) renders Chinese labels with it, not boxes
  dpkg -s fonts-noto-cjk >/dev/null 2>&1 || apt_install fonts-noto-cjk
fi

# 3. Virtualenv with the package and its dev extras
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "bootstrap: lowalt needs Python >= 3.11 (found $("$PYTHON" --version))" >&2; exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv 2>/dev/null || { apt_install python3-venv; "$PYTHON" -m venv .venv; }
fi
stamp=.venv/.lowalt-installed
want=$(cat pyproject.toml requirements-dev.lock | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "bootstrap: installing Python packages from requirements-dev.lock into .venv (about 90 s the first time)"
  .venv/bin/python -m pip install -q --upgrade pip
  # pinned and hash-checked; pip prints each package as it goes (the progress)
  .venv/bin/python -m pip install --require-hashes -r requirements-dev.lock
  .venv/bin/python -m pip install -q --no-deps -e .
  echo "bootstrap: compiling the conflict engine's loops (numba, cached on disk)"
  .venv/bin/python -c "import lowalt.conflict as c; c.warm_up()"
  echo "$want" > "$stamp"
  echo "bootstrap: Python packages ready"
fi
