"""The lock file (pip-tools, hashes) pins every declared dependency at a version the declaration
allows; bootstrap and CI install from it (`make lock` regenerates it)."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]


def _pins() -> dict[str, str]:
    text = (REPO / "requirements-dev.lock").read_text()
    return {canonicalize_name(m.group(1)): m.group(2)
            for m in re.finditer(r"^([A-Za-z0-9_.\-]+)==([^\s\\]+)", text, re.M)}


def test_every_declared_dependency_is_pinned_with_a_hash_at_an_allowed_version() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["dev"],
                *project["optional-dependencies"]["report"]]
    pins = _pins()
    for line in declared:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is declared but not in requirements-dev.lock: run `make lock`"
        assert req.specifier.contains(pins[name], prereleases=True), (req.name, pins[name], str(req.specifier))
    text = (REPO / "requirements-dev.lock").read_text()
    for block in re.split(r"\n(?=[A-Za-z0-9_.\-]+==)", text)[1:]:
        assert "--hash=sha256:" in block, block.splitlines()[0]  # every pin carries its hashes
    assert "file://" not in text and "--index-url" not in text  # nothing machine-specific


def test_imported_third_party_packages_are_declared() -> None:
    """What ``lowalt/`` imports at module level is a runtime dependency (not only a dev extra)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    module_of = {"yaml": "pyyaml", "prometheus_client": "prometheus-client", "pydantic_settings": "pydantic-settings",
                 "sqlalchemy": "sqlalchemy", "geoalchemy2": "geoalchemy2",
                 "nats": "nats-py"}
    stdlib = set(__import__("sys").stdlib_module_names)
    imported: set[str] = set()
    for path in (REPO / "lowalt").rglob("*.py"):
        for node in ast.parse(path.read_text()).body:  # module level: what importing lowalt needs
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = {m for m in imported if m not in stdlib and m not in ("lowalt", "simulators", "__future__")}
    missing = sorted(m for m in third_party if canonicalize_name(module_of.get(m, m)) not in runtime)
    assert not missing, f"lowalt imports {missing} at module level but they are not runtime dependencies"
