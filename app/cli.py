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


def cmd_deadletters_list(args, settings: Settings) -> int:
    """List rejected records not yet replayed (--all: every one), grouped by source and reason."""
    query = {"source": args.source, "reason": args.reason, "all": args.all, "limit": args.limit}
    listing = _deadletters(settings, "", query, lambda d, store: d.listing(
        store, args.source, args.reason, args.all, args.limit))
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
    from models.dead_letters import LetterNotFound

    try:
        letter = _deadletters(settings, "/" + args.letter_id, {}, lambda d, store: d.shown(store, args.letter_id))
    except LetterNotFound as exc:
        return _fail(args, str(exc), EXIT_USAGE)
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
    from collectors.errors import MappingError

    mapping = str(Path(args.mapping).resolve())
    try:
        summary = _deadletters(settings, "/replay", {"mapping": mapping, "source": args.source},
                               lambda d, store: d.replay(store, mapping, args.source))
    except MappingError as exc:
        return _fail(args, str(exc), EXIT_USAGE)
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


def _deadletters(settings: Settings, route: str, body: dict, local):
    """Run `local(app.dead_letters, store)` on the store, or ask the server that owns it
    (GET /api/deadletters<route>?body, or POST for /replay). A 4xx reply is raised again as
    the error it stands for."""
    from app import dead_letters
    from app.server_file import running_server
    from models.store import open_store

    server = running_server(settings.db)
    if server is None:
        store = open_store(settings.db)
        try:
            return local(dead_letters, store)
        finally:
            store.close()
    import urllib.error
    import urllib.parse
    import urllib.request

    url = f"{server}/api/deadletters{urllib.parse.quote(route)}"
    try:
        if route == "/replay":
            return _post_json(url, body)
        query = urllib.parse.urlencode({k: v for k, v in body.items() if v not in (None, False)})
        with urllib.request.urlopen(url + (f"?{query}" if query else ""), timeout=600) as reply:
            return json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        from collectors.errors import MappingError
        from models.dead_letters import LetterNotFound
        from models.store import StoreError

        body = exc.read()
        try:
            message = json.loads(body)["error"]
        except (ValueError, KeyError, TypeError):
            message = f"{url} answered {exc.code} {exc.reason}: {body[:500].decode(errors='replace')}"
        if exc.code == 404:
            raise LetterNotFound(message) from None
        if exc.code in (400, 422):
            raise MappingError(message) from None
        raise StoreError(message) from None


def cmd_mine(args, settings: Settings) -> int:
    """Mine the process: directly-follows graph, variants, a discovered model, or conformance."""
    from models import mining
    from models.store import open_store

    store = open_store(settings.db, read_only=True)
    try:
        con = store.cursor()
        types = mining.object_types(con).to_pylist()
        if not types:
            return _fail(args, f"{settings.db} holds no cases yet: ingest some data first", EXIT_PARTIAL)
        known = [t["object_type"] for t in types]
        object_type = args.object_type or ("invoice" if "invoice" in known else known[0])
        if object_type not in known:
            return _fail(args, f"no cases of object type {object_type!r}; known: {', '.join(known)}", EXIT_USAGE)
        try:
            result = MINERS[args.what](con, object_type, args)
        except ValueError as exc:           # conformance.ModelNotFound: names what exists
            return _fail(args, str(exc), EXIT_USAGE)
    finally:
        store.close()
    if args.json:
        _print_json(result)
    else:
        _print_table(result if isinstance(result, list) else [result])
    return EXIT_OK


def _mine_dfg(con, object_type, args):
    from models import mining

    return mining.dfg(con, object_type).to_pylist()


def _mine_variants(con, object_type, args):
    from models import mining

    return mining.variants(con, object_type).slice(0, args.top).to_pylist()


def _mine_discover(con, object_type, args):
    from models import discovery, mining

    if args.source == "dfg":
        model = discovery.discover_from_dfg(mining.dfg(con, object_type, performance=False),
                                            mining.start_activities(con, object_type),
                                            mining.end_activities(con, object_type))
    else:
        model = discovery.discover_from_variants(mining.variants(con, object_type), args.noise)
    return {"object_type": object_type, "source": args.source, "noise_threshold": args.noise,
            **model.size(), "process_tree": str(model.tree),
            "petri_net_dot": discovery.petri_net_dot(model), "bpmn_dot": discovery.bpmn_dot(model)}


def _mine_conformance(con, object_type, args):
    from models import conformance

    result = conformance.check(con, object_type, model=args.model)
    return {**result, "by_variant": result["by_variant"].slice(0, args.top).to_pylist(),
            "deviations": result["deviations"].to_pylist()}


MINERS = {"dfg": _mine_dfg, "variants": _mine_variants, "discover": _mine_discover,
          "conformance": _mine_conformance}


def cmd_kpis(args, settings: Settings) -> int:
    """KPIs overall or by facility, supplier, department or category, per period if asked."""
    from models import kpis
    from models.filters import Filters
    from models.store import open_store

    chosen = Filters(start=args.since, end=args.until, facilities=tuple(args.facility or ()))
    store = open_store(settings.db, read_only=True)
    try:
        table = kpis.kpis(store.cursor(), by=args.by, period=args.period, filters=chosen,
                          ids=args.kpi or None)
    finally:
        store.close()
    rows = table.to_pylist()
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


def cmd_export(args, settings: Settings) -> int:
    """Export the store (or the part the filters choose) as OCEL 2.0 SQLite or JSON, or one case notion as XES."""
    from models import exports
    from models.filters import Filters

    chosen = Filters(start=args.since, end=args.until, facilities=tuple(args.facility or ()))
    store = _open_for_reading(settings, "export")
    started = time.perf_counter()
    try:
        counts = exports.export(store.cursor(), args.format, args.out, object_type=args.object_type,
                                filters=chosen)
    except exports.ExportError as exc:
        return _fail(args, str(exc), EXIT_USAGE)
    finally:
        store.close()
    seconds = time.perf_counter() - started
    if args.json:
        _print_json({"format": args.format, "out": str(args.out), "seconds": round(seconds, 2), **counts})
    else:
        print(f"Wrote {args.out} ({args.format}) in {seconds:.1f} s: "
              + ", ".join(f"{v:,} {k.replace('_', '-')}" for k, v in counts.items()))
    return EXIT_OK


def cmd_audit_pack(args, settings: Settings) -> int:
    """Write one case's evidence as a zip: trail, documents, control findings, spans, OCEL 2.0 log, manifest."""
    from models import exports

    store = _open_for_reading(settings, "audit pack")
    try:
        manifest = exports.write_audit_pack(store.cursor(), args.object_id, args.out)
    except exports.ExportError as exc:
        return _fail(args, str(exc), EXIT_USAGE)
    finally:
        store.close()
    if args.json:
        _print_json({"out": str(args.out), **manifest})
    else:
        for f in manifest["files"]:
            print(f"{f['sha256']}  {f['name']}  ({f['bytes']:,} bytes)")
        print(f"Wrote {args.out} for {args.object_id}; content sha256 {manifest['content_sha256']}")
    return EXIT_OK


def cmd_audit_controls(args, settings: Settings) -> int:
    """Run every audit control over the store: each one's findings and their count."""
    from models import exports

    store = _open_for_reading(settings, "audit controls")
    try:
        found = {name: table.to_pylist() for name, table in exports.controls(store.cursor()).items()}
    finally:
        store.close()
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


def _open_for_reading(settings: Settings, what: str):
    """The store, read-only; a clear error when a running server owns it (DuckDB lets no other
    process open the file then)."""
    from app.server_file import running_server
    from models.store import StoreLockedError, open_store

    server = running_server(settings.db)
    if server:
        raise StoreLockedError(
            f"{settings.db} is owned by a running `p2pobs serve` (or `dashboard`) at {server}; "
            f"`p2pobs {what}` reads the store file directly, which DuckDB refuses while that process "
            "holds it. Stop the server (Ctrl+C), run this command, then start it again.")
    return open_store(settings.db, read_only=True)


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
    p.add_argument("what", choices=sorted(MINERS), help="what to mine")
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


def _post_json(url: str, body: dict) -> dict:
    import urllib.request

    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=3600) as reply:
        return json.loads(reply.read())


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
