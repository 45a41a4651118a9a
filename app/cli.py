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

from app import operations
from app.operations import EXIT_OK, EXIT_PARTIAL, EXIT_STORE, EXIT_USAGE
from models.settings import Settings, resolve


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    flags = {name: getattr(args, name, None) for name in
             ("db", "host", "port", "otlp_host", "otlp_port", "inbox", "max_request_bytes")}
    settings = resolve(flags, dict(os.environ))
    from models.store import StoreError

    try:
        return args.run(args, settings)
    except operations.Refused as exc:
        return _fail(args, str(exc), exc.exit_status)
    except StoreError as exc:
        return _fail(args, str(exc), EXIT_STORE)
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:   # the reader (`| head`) has gone; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
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
    given = {_absolute(p): p for p in args.paths}
    summary = operations.run(settings, "ingest", paths=list(given),
                             mapping=args.mapping and _absolute(args.mapping))
    for entry in summary["files"] + summary["skipped"] + summary["errors"]:
        entry["path"] = _as_given(entry["path"], given)
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
        print(f"total: accepted {summary['accepted']:,}, duplicates {summary['duplicates']:,}, "
              f"rejected {summary['rejected']:,} ({len(summary['files'])} sources into {settings.db})")
    return EXIT_PARTIAL if summary["errors"] else EXIT_OK


def cmd_stats(args, settings: Settings) -> int:
    """Count what the store holds."""
    counts = operations.run(settings, "stats")
    if args.json:
        _print_json(counts)
    else:
        for name, value in counts.items():
            print(f"{name:>15}  {value:,}")
    return EXIT_OK


def cmd_deadletters_list(args, settings: Settings) -> int:
    """List rejected records not yet replayed (--all: every one), grouped by source and reason."""
    listing = operations.run(settings, "deadletters_list", source=args.source, reason=args.reason,
                             include_replayed=args.all, limit=args.limit)
    if args.json:
        _print_json(listing)
        return EXIT_OK
    for x in listing["letters"]:
        replayed = f"  (replayed in {x['replayed_in'][:12]})" if x["replayed_in"] else ""
        print(f"{x['letter_id'][:12]}  {x['source']}  {x['position']}  {x['reason']}{replayed}")
    which = "" if args.all else " not yet replayed"
    more = f", {listing['shown']:,} shown (--limit)" if listing["shown"] < listing["total"] else ""
    print(f"{listing['total']:,} dead letter(s){which}{more}")
    for g in listing["by_reason"]:
        print(f"  {g['records']:>6,}  {g['source']}  {g['reason']}")
    return EXIT_OK


def cmd_deadletters_show(args, settings: Settings) -> int:
    """Show one rejected record in full: source, position, reason, mapping, raw text and context."""
    letter = operations.run(settings, "deadletters_show", letter_id=args.letter_id)
    if args.json:
        _print_json(letter)
        return EXIT_OK
    context = letter["context"] or {}
    for label, value in (("letter", letter["letter_id"]), ("source", letter["source"]),
                         ("position", letter["position"]), ("reason", letter["reason"]),
                         ("mapping", letter["mapping"] or "(none)"), ("batch", letter["batch_id"]),
                         ("received", letter["received_at"]),
                         ("replayed", f"in {letter['replayed_in']}" if letter["replayed_in"] else "no"),
                         *((k, json.dumps(v) if k == "delimiter" else v) for k, v in context.items()),
                         ("raw", letter["raw"])):
        print(f"{label:>10}  {value}")
    return EXIT_OK


def cmd_deadletters_replay(args, settings: Settings) -> int:
    """Re-run rejected records through a corrected mapping; accepted ones land and are marked replayed."""
    summary = operations.run(settings, "deadletters_replay", mapping=_absolute(args.mapping),
                             source=args.source)
    if args.json:
        _print_json(summary)
    else:
        print(f"replayed {summary['replayed']:,} dead letter(s) through {args.mapping}: accepted "
              f"{summary['accepted']:,}, still rejected {summary['still_rejected']:,}, skipped "
              f"{summary['skipped']:,}" + (f" (batch {summary['batch_id']})" if summary["batch_id"] else ""))
        for x in summary["rejected"]:
            print(f"  still rejected  {x['letter_id'][:12]}  {x['source']}  {x['position']}  {x['reason']}")
        for x in summary["skipped_reasons"]:
            print(f"  skipped {x['letters']:,}: {x['reason']}")
    return EXIT_PARTIAL if summary["still_rejected"] else EXIT_OK


def cmd_mine(args, settings: Settings) -> int:
    """Mine the process: directly-follows graph, variants, a discovered model, or conformance."""
    result = operations.run(settings, "mine", what=args.what, object_type=args.object_type, top=args.top,
                            source=args.source, noise=args.noise, model=args.model)
    if args.json:
        _print_json(result)
    else:
        _print_table(result if isinstance(result, list) else [result])
    return EXIT_OK


def cmd_kpis(args, settings: Settings) -> int:
    """KPIs overall or by facility, supplier, department or category, per period if asked."""
    rows = operations.run(settings, "kpis", by=args.by, period=args.period, since=args.since,
                          until=args.until, facilities=args.facility, kpi=args.kpi)
    if args.json:
        _print_json(rows)
    else:
        from app.formats import kpi_value

        _print_table([{"kpi": r["name"], **({"group": r["group"]} if args.by else {}),
                       **({"period": r["period"]} if args.period else {}),
                       "value": kpi_value(r["value"], r["unit"]), "cases": r["cases"]} for r in rows])
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

    store = open_store(settings.db, memory_limit=settings.memory_limit)
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
    store = open_store(settings.db, memory_limit=settings.memory_limit)
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


def cmd_export(args, settings: Settings) -> int:
    """Export the store (or the part the filters choose) as OCEL 2.0 SQLite or JSON, or one case notion as XES."""
    started = time.perf_counter()
    counts = operations.run(settings, "export", format=args.format, out=_absolute(args.out),
                            object_type=args.object_type, since=args.since, until=args.until,
                            facilities=args.facility)
    seconds = time.perf_counter() - started
    if args.json:
        _print_json({"format": args.format, "out": str(args.out), "seconds": round(seconds, 2), **counts})
    else:
        print(f"Wrote {args.out} ({args.format}) in {seconds:.1f} s: "
              + ", ".join(f"{v:,} {k.replace('_', '-')}" for k, v in counts.items()))
    return EXIT_OK


def cmd_audit_pack(args, settings: Settings) -> int:
    """Write one case's evidence as a zip: trail, documents, control findings, spans, OCEL 2.0 log, manifest."""
    manifest = operations.run(settings, "audit_pack", object_id=args.object_id, out=_absolute(args.out))
    if args.json:
        _print_json({"out": str(args.out), **manifest})
    else:
        for f in manifest["files"]:
            print(f"{f['sha256']}  {f['name']}  ({f['bytes']:,} bytes)")
        print(f"Wrote {args.out} for {args.object_id}; content sha256 {manifest['content_sha256']}")
    return EXIT_OK


def cmd_audit_controls(args, settings: Settings) -> int:
    """Run every audit control over the store: each one's findings and their count."""
    found = operations.run(settings, "audit_controls")
    if args.json:
        _print_json({name: {"count": len(rows), "findings": rows} for name, rows in found.items()})
    else:
        for name, rows in found.items():
            print(f"{name}: {len(rows):,} finding(s)")
            for r in rows[:20]:
                print(f"  {r.get('invoice_id') or r.get('payment_id')}  {r.get('reason')}")
            if len(rows) > 20:
                print(f"  … {len(rows) - 20:,} more (--json lists every one)")
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

    p = command("kpis", cmd_kpis, db=True, json_out=True)
    p.add_argument("--by", choices=("facility", "supplier", "department", "category"),
                   help="one row per group")
    p.add_argument("--period", choices=("day", "week", "month", "quarter"), help="one row per period")
    p.add_argument("--kpi", action="append", help="only this KPI (repeatable), e.g. cycle_time")
    p.add_argument("--from", dest="since", type=_day, help="first day, YYYY-MM-DD")
    p.add_argument("--to", dest="until", type=_day, help="last day, YYYY-MM-DD")
    p.add_argument("--facility", action="append", help="only this facility (repeatable)")

    p = command("mine", cmd_mine, db=True, json_out=True)
    p.add_argument("what", choices=operations.MINED, help="what to mine")
    p.add_argument("--object-type", help="case notion: invoice, po_line, purchase_order, … (default invoice)")
    p.add_argument("--top", type=_positive, default=50, help="variants: how many (default 50)")
    p.add_argument("--source", choices=("variants", "dfg"), default="variants",
                   help="discover from the variants (IM/IMf) or from the DFG (IMd)")
    p.add_argument("--noise", type=float, default=0.2, help="discover: IMf noise threshold (default 0.2)")
    p.add_argument("--model", default="reference",
                   help="conformance: 'reference' (the shipped BPMN of the case notion), 'discovered' "
                        "(IMf 0.2 on the log) or a .bpmn file (default reference)")

    p = command("export", cmd_export, db=True, json_out=True)
    p.add_argument("--format", required=True, choices=("ocel2-sqlite", "ocel2-json", "xes"), help="file format")
    p.add_argument("--out", required=True, help="file to write (xes: .xes or .xes.gz)")
    p.add_argument("--object-type", help="xes: the case notion (required); ocel2: only objects of this type")
    p.add_argument("--from", dest="since", type=_day, help="first day, YYYY-MM-DD")
    p.add_argument("--to", dest="until", type=_day, help="last day, YYYY-MM-DD")
    p.add_argument("--facility", action="append", help="only this facility (repeatable)")

    p = sub.add_parser("audit", help="audit evidence: one case's pack, or every control's findings (pack | controls)",
                       description="Audit evidence: one case's pack, or every control's findings.")
    audits = p.add_subparsers(required=True, metavar="ACTION")
    a = audits.add_parser("pack", help=cmd_audit_pack.__doc__, description=cmd_audit_pack.__doc__)
    a.set_defaults(run=cmd_audit_pack)
    a.add_argument("object_id", metavar="OBJECT_ID", help="the case: an object's id, e.g. an invoice's")
    a.add_argument("--out", required=True, help="zip file to write")
    a = audits.add_parser("controls", help=cmd_audit_controls.__doc__, description=cmd_audit_controls.__doc__)
    a.set_defaults(run=cmd_audit_controls)
    for a in audits.choices.values():
        a.add_argument("--db", help="store file (env P2POBS_DB; default data/p2p.duckdb)")
        a.add_argument("--json", action="store_true", help="print JSON for machines")

    p = sub.add_parser("deadletters", help="inspect and replay rejected records (list | show | replay)",
                       description="Inspect and replay rejected records (dead letters).")
    actions = p.add_subparsers(required=True, metavar="ACTION")

    def action(name, fn):
        a = actions.add_parser(name, help=fn.__doc__, description=fn.__doc__)
        a.set_defaults(run=fn)
        a.add_argument("--db", help="store file (env P2POBS_DB; default data/p2p.duckdb)")
        a.add_argument("--json", action="store_true", help="print JSON for machines")
        return a

    a = action("list", cmd_deadletters_list)
    a.add_argument("--source", help="only this source (its stored path, or the end of it: erp.csv)")
    a.add_argument("--reason", help="only letters whose reason contains this text")
    a.add_argument("--all", action="store_true", help="also letters already replayed")
    a.add_argument("--limit", type=_positive, default=100, help="letters listed (default 100)")
    a = action("show", cmd_deadletters_show)
    a.add_argument("letter_id", metavar="LETTER_ID", help="a letter's id, or a unique start of it")
    a = action("replay", cmd_deadletters_replay)
    a.add_argument("--mapping", required=True, help="the corrected mapping file (TOML)")
    a.add_argument("--source", help="only this source's letters (its stored path, or the end of it)")

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


def _day(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a day as YYYY-MM-DD, got {text!r}") from None


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def _absolute(path: str) -> str:
    """A path as the server that may run the command sees it: absolute."""
    return str(Path(path).resolve())


def _as_given(path: str, given: dict[str, str]) -> str:
    """`path` (absolute) as the user named it or the folder it is in."""
    for absolute, typed in given.items():
        if path == absolute or path.startswith(absolute + os.sep):
            return typed + path[len(absolute):]
    return path


def _print_table(rows: list[dict]) -> None:
    """Rows as aligned text columns (long values cut), for people at a terminal."""
    if not rows:
        print("(nothing)")
        return
    cells = [[_cell(r.get(k)) for k in rows[0]] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(rows[0])]
    print("  ".join(k.ljust(w) for k, w in zip(rows[0], widths)))
    for c in cells:
        print("  ".join(v.ljust(w) for v, w in zip(c, widths)))


def _cell(value) -> str:
    text = " → ".join(value) if isinstance(value, list) else (f"{value:,.1f}" if isinstance(value, float) else str(value))
    return text if len(text) <= 60 else text[:57] + "…"


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
