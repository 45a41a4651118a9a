"""`p2pobs`: the command line. The only place that reads the environment.

Exit status: 0 done; 1 done in part (some source could not be read, see the message);
2 bad usage; 3 the store cannot be used (held by another process, other schema version).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from models.settings import Settings, resolve

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_STORE = 0, 1, 2, 3


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    flags = {name: getattr(args, name, None) for name in
             ("db", "host", "port", "otlp_host", "otlp_port", "inbox", "max_request_bytes")}
    settings = resolve(flags, dict(os.environ))
    from models.store import StoreError

    try:
        return args.run(args, settings)
    except StoreError as exc:
        return _fail(args, str(exc), EXIT_STORE)
    except KeyboardInterrupt:
        return EXIT_OK


# -- commands ----------------------------------------------------------------------------------
def cmd_simulate(args, settings: Settings) -> int:
    """Write a simulated hospital network's state logs, spans and manifest to --out."""
    from sample_logs import simulate

    started = time.perf_counter()
    manifest = simulate(args.out, orders=args.orders, seed=args.seed, otlp_endpoint=args.otlp_endpoint)
    seconds = time.perf_counter() - started
    if args.json:
        _print_json({"out": str(args.out), "seconds": round(seconds, 2), "manifest": manifest})
    else:
        print(f"Simulated {args.orders:,} purchase orders (seed {args.seed}) into {args.out} "
              f"in {seconds:.1f} s; planted truths in {Path(args.out) / 'manifest.json'}")
    return EXIT_OK


def cmd_ingest(args, settings: Settings) -> int:
    """Load state logs and trace files (files or directories) into the store."""
    from app.ingest import ingest
    from app.server_file import running_server
    from models.store import open_store

    server = running_server(settings.db)
    if server:   # the server owns the store: hand it the work
        summary = _post_json(f"{server}/api/ingest", {
            "paths": [str(Path(p).resolve()) for p in args.paths],
            "mapping": str(Path(args.mapping).resolve()) if args.mapping else None,
        })
    else:
        store = open_store(settings.db)
        try:
            summary = ingest(store, args.paths, args.mapping).as_dict()
        finally:
            store.close()
    if args.json:
        _print_json(summary)
    else:
        for f in summary["files"]:
            print(f"{f['path']}  {f['kind']}  accepted {f['accepted']:,}  "
                  f"duplicates {f['duplicates']:,}  rejected {f['rejected']:,}")
        for s in summary["skipped"]:
            print(f"skipped {s['path']}: {s['reason']}")
        for e in summary["errors"]:
            print(f"error: {e['error']}", file=sys.stderr)
        via = f" via {server}" if server else ""
        print(f"total: accepted {summary['accepted']:,}, duplicates {summary['duplicates']:,}, "
              f"rejected {summary['rejected']:,} ({len(summary['files'])} sources into {settings.db}{via})")
    return EXIT_PARTIAL if summary["errors"] else EXIT_OK


def cmd_stats(args, settings: Settings) -> int:
    """Count what the store holds."""
    from models import health
    from models.store import open_store

    from app.server_file import running_server

    server = running_server(settings.db)
    if server:
        import urllib.request

        with urllib.request.urlopen(f"{server}/api/stats", timeout=60) as reply:
            counts = json.loads(reply.read())
    else:
        store = open_store(settings.db)
        try:
            counts = health.counts(store.cursor())
        finally:
            store.close()
    if args.json:
        _print_json(counts)
    else:
        for name, value in counts.items():
            print(f"{name:>15}  {value:,}")
    return EXIT_OK


def cmd_dashboard(args, settings: Settings) -> int:
    """Serve the dashboard and the ingest API over the store."""
    return _serve(settings, dashboard=True, receiver=False, open_browser=not args.no_browser)


def cmd_receive(args, settings: Settings) -> int:
    """Run the OTLP/HTTP trace receiver alone."""
    return _serve(settings, dashboard=False, receiver=True)


def cmd_serve(args, settings: Settings) -> int:
    """Own the store: dashboard, ingest API, OTLP receiver and (with --inbox) a watched folder."""
    return _serve(settings, dashboard=True, receiver=True, open_browser=not args.no_browser)


def _serve(settings: Settings, **how) -> int:
    from app.serve import serve
    from models.store import open_store

    store = open_store(settings.db)
    try:
        serve(store, settings, **how)
    finally:
        store.close()
    return EXIT_OK


def cmd_demo(args, settings: Settings) -> int:
    """Simulate a hospital network, collect it into the store and serve the dashboard."""
    from app.ingest import ingest
    from app.serve import serve
    from models.store import open_store
    from sample_logs import simulate

    out = Path(args.out)
    started = time.perf_counter()
    print(f"Simulating {args.orders:,} purchase orders into {out} …", flush=True)
    simulate(out, orders=args.orders, seed=args.seed)
    store = open_store(settings.db)
    try:
        print(f"Collecting state logs and spans into {settings.db} …", flush=True)
        summary = ingest(store, [out])
        print(f"Accepted {summary.accepted:,} events and spans ({summary.duplicates:,} repeated or "
              f"already stored, {summary.rejected:,} rejected) from {len(summary.files)} sources "
              f"in {time.perf_counter() - started:.1f} s", flush=True)
        for e in summary.errors:
            print(f"error: {e['error']}", file=sys.stderr)
        serve(store, settings, receiver=False, open_browser=not args.no_browser)
    finally:
        store.close()
    return EXIT_OK


# -- parser ------------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="p2pobs", description="P2P Observatory: procure-to-pay observability for health systems.")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name, fn, *, db=False, json_out=False):
        p = sub.add_parser(name, help=fn.__doc__, description=fn.__doc__)
        p.set_defaults(run=fn)
        if db:
            p.add_argument("--db", help="store file (env P2POBS_DB; default data/p2p.duckdb)")
        if json_out:
            p.add_argument("--json", action="store_true", help="print JSON for machines")
        return p

    p = command("simulate", cmd_simulate, json_out=True)
    p.add_argument("--out", required=True, help="directory to write the network's logs into")
    p.add_argument("--orders", type=_positive, default=2000, help="purchase orders (default 2000)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--otlp-endpoint", help="send spans to this OTLP/HTTP endpoint instead of files")

    p = command("ingest", cmd_ingest, db=True, json_out=True)
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")
    p.add_argument("--mapping", help="mapping file (TOML) for the given state logs")

    command("stats", cmd_stats, db=True, json_out=True)

    def listen(p, dashboard=True, receiver=False):
        if dashboard:
            p.add_argument("--host", help="dashboard address (env P2POBS_HOST; default 127.0.0.1)")
            p.add_argument("--port", type=int, help="dashboard port (env P2POBS_PORT; default 8501)")
            p.add_argument("--no-browser", action="store_true", help="do not open a browser")
        if receiver:
            p.add_argument("--otlp-host", help="receiver address (env P2POBS_OTLP_HOST; default 127.0.0.1)")
            p.add_argument("--otlp-port", type=int, help="receiver port (env P2POBS_OTLP_PORT; default 4318)")
            p.add_argument("--max-request-bytes", type=_positive,
                           help="largest request, as sent and decompressed (default 16 MiB)")

    listen(command("dashboard", cmd_dashboard, db=True))
    p = command("serve", cmd_serve, db=True)
    listen(p, receiver=True)
    p.add_argument("--inbox", help="folder to watch for files to ingest (env P2POBS_INBOX)")
    listen(command("receive", cmd_receive, db=True), dashboard=False, receiver=True)

    p = command("demo", cmd_demo, db=True)
    listen(p)
    p.add_argument("--orders", type=_positive, default=2000, help="purchase orders (default 2000)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--out", default="data/demo", help="where the simulated logs go (default data/demo)")
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def _post_json(url: str, body: dict) -> dict:
    import urllib.request

    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=3600) as reply:
        return json.loads(reply.read())


def _print_json(value) -> None:
    print(json.dumps(value, indent=2, default=str))


def _fail(args, message: str, status: int) -> int:
    if getattr(args, "json", False):
        _print_json({"error": message, "exit_status": status})
    else:
        print(f"error: {message}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
