"""``lowalt simulate SCENARIO``: fly a scenario against a server and print what it achieved.

Without ``--url`` it starts its own ``lowalt serve`` on the managed PostGIS (data folder
``.lowalt/sim``), bootstraps an admin token through the store, runs, and stops both. With
``--url`` it needs an admin token (``--token`` or ``LOWALT_TOKEN``) and uses only the public API.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import yaml

from simulators.client import ApiError
from simulators.feeds import FeedSetup, FeedSetupError
from simulators.report import write_report
from simulators.runner import Runner, RunOptions
from simulators.scenario import ALERT_KINDS, ScenarioError, library, load


def _print_human(out: dict[str, Any]) -> None:
    lm = out["latency_ms"]
    print(f"scenario        {out['scenario']} (seed {out['seed']}, run {out['run_tag']})")
    print(f"aircraft        {out['aircraft']}  flights started {out['flights_started']}, "
          f"completed {out['flights_completed']}")
    print(f"plans           {out['plans']}")
    if out["plan_reasons"]:
        print(f"plan reasons    {out['plan_reasons']}")
    print(f"duration        {out['duration_s']} s (setup {out['setup_s']} s)")
    print(f"reports         sent {out['reports_sent']}, accepted {out['reports_accepted']}, "
          f"rejected {out['reports_rejected']}  ->  {out['report_rate_per_s']} accepted/s")
    print(f"report-to-feed  p50 {lm['p50']} ms, p95 {lm['p95']} ms, p99 {lm['p99']} ms, max {lm['max']} ms "
          f"({lm['samples']} samples)")
    print(f"drops           {out['drops']}")
    if "feeds" in out:
        print(f"feeds           {out['feeds']}")
    print(f"alerts seen     {out['alerts_seen']}")
    for e in out["alerts_expected"]:
        mark = "ok " if e["seen"] >= e["min_count"] else "MISSING"
        print(f"  expected {mark} {e['alert']}: seen {e['seen']} (min {e['min_count']})")
    if out["alerts_not_checked"]:
        print(f"  not checked (kinds not wired on this server): {', '.join(out['alerts_not_checked'])}")
    for a in out["alerts_unexpected"]:
        print(f"  UNEXPECTED {a['kind']} {a['aircraft']} ({a['id']})")
    if out["alerts_incidental"]:
        print(f"  incidental (involve misbehaving/non-cooperative aircraft): {len(out['alerts_incidental'])}")
    print("result          " + ("OK" if out["ok"] else "FAILED"))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lowalt simulate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", help=f"library name ({', '.join(library())}) or a YAML/JSON file; "
                                    "`list` describes the library")
    p.add_argument("--aircraft", type=int, help="scale the scenario's groups to this many aircraft in all")
    p.add_argument("--duration", type=float, help="seconds of flying (default: the scenario's)")
    p.add_argument("--url", help="server base URL (default: start one on the managed PostGIS)")
    p.add_argument("--token", help="admin token for --url (default: $LOWALT_TOKEN)")
    p.add_argument("--data-dir", default=".lowalt/sim",
                   help="data folder of the self-started server (sim_policy scenarios: DIR-policy)")
    p.add_argument("--kinds", default=",".join(ALERT_KINDS),
                   help="alert kinds the server raises; expectations of other kinds are listed, not checked")
    p.add_argument("--report", metavar="DIR", help="write figures.json and figures.png there")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.add_argument("--show-server-log", action="store_true")
    return p


def _list() -> int:
    for name in library():
        sc = load(name)
        print(f"== {name}  (seed {sc.seed}, {sum(g.count for g in sc.groups) + len(sc.actors)} aircraft, "
              f"{sc.duration_s:.0f} s)")
        print("   " + sc.description.replace("\n", "\n   ").rstrip())
        print("   expects: " + (", ".join(e.label() for e in sc.expected) or "nothing (not judged)"))
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["list"]:
        return _list()
    args = build_parser().parse_args(argv)
    try:
        sc = load(args.scenario)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    kinds = tuple(k for k in args.kinds.split(",") if k)
    server = None
    feeds = None
    if FeedSetup.needed(sc):  # MAVLink / ADS-B actors: the server must start with their feeds file
        if args.url:
            print(f"error: scenario {sc.name!r} flies aircraft on MAVLink/ADS-B feeds, which a server reads "
                  "from its feeds file at start-up: run it without --url", file=sys.stderr)
            return 2
        feeds = FeedSetup(sc, f"{sc.name[:10]}{uuid.uuid4().hex[:4]}")
    if args.url:
        token = args.token or os.environ.get("LOWALT_TOKEN")
        if not token:
            print("error: --url needs --token ADMIN_TOKEN (or LOWALT_TOKEN)", file=sys.stderr)
            return 2
        url = args.url.rstrip("/")
        ws_url = "ws" + url[4:] if url.startswith("http") else url
    else:
        from simulators.server import policy_data_dir, start_local_server

        data_dir = policy_data_dir(Path(args.data_dir)) if sc.sim_policy else Path(args.data_dir)
        print(f"starting a server on the managed PostGIS in {data_dir} ...", file=sys.stderr)
        if feeds is not None:
            try:
                feeds.start_receiver()
            except FeedSetupError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            feeds_file = data_dir.resolve() / f"feeds-{feeds.tag}.yaml"
            data_dir.mkdir(parents=True, exist_ok=True)
            feeds_file.write_text(yaml.safe_dump(feeds.doc(), allow_unicode=True), encoding="utf-8")
            os.environ["LOWALT_FEEDS_FILE"] = str(feeds_file)  # the server inherits this process's environment
        server = start_local_server(data_dir, sim_policy=sc.sim_policy, quiet=not args.show_server_log)
        url, ws_url, token = server.url, server.ws_url, server.admin_token
    opt = RunOptions(url, ws_url, token, duration_s=args.duration, aircraft=args.aircraft, kinds=kinds,
                     progress=not args.quiet, feeds=feeds)
    try:
        out = asyncio.run(Runner(sc, opt).run())
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.stop()
        if feeds is not None:
            feeds.stop_receiver()
    if args.report:
        write_report(args.report, out)
    public = {k: v for k, v in out.items() if k != "_series"}
    if args.json:
        print(json.dumps(public, ensure_ascii=False))
    else:
        _print_human(public)
    return 0 if out["ok"] else 1
