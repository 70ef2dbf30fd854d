"""``lowalt airspace check [PATH]``: validate an airspace data folder and print every problem.

Exit status 0 when clean, 1 when anything is wrong (2 for usage errors).
"""

from __future__ import annotations

import argparse
import json

from lowalt.airspace.validate import validate_airspace
from lowalt.geo.terrain import airspace_data_dir


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lowalt airspace check", description=__doc__)
    parser.add_argument("path", nargs="?", default=None, help="data folder (default: airspace_data/fuliang)")
    parser.add_argument("--json", action="store_true", help="print problems as a JSON list")
    args = parser.parse_args(argv)
    path = args.path or str(airspace_data_dir() / "fuliang")
    problems = validate_airspace(path)
    if args.json:
        print(json.dumps([{"file": p.file, "feature_id": p.feature_id, "message": p.message} for p in problems],
                         ensure_ascii=False, indent=1))
    else:
        for p in problems:
            print(p)
        print(f"{path}: {len(problems)} problem(s)" if problems else f"{path}: OK")
    return 1 if problems else 0
