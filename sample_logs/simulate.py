"""`simulate(out_dir, orders, seed, otlp_endpoint, spans)`: write the hospital network's logs,
spans, mappings and manifest. Same seed and size => byte-identical files.

`spans=False` leaves the middleware's traces out (the state logs and the manifest's truths are
the same): for analytics at a million orders, whose span file would be ~17 GB (~17 spans per
order through the SDK encoder) and which no process-mining question reads."""

from __future__ import annotations

import json
import os
import shutil
from importlib import resources
from pathlib import Path

import numpy as np

from models import vocabulary as v
from sample_logs import ap, clock, erp, flows, middleware, network as net, procurement
from sample_logs import supplier_portal, truths
from sample_logs.erp import _cat

VERSION = "0.3.0"
MIN_ORDERS, MAX_ORDERS = 100, 1_000_000
SPAN_FILE = "spans/middleware.jsonl"


def simulate(out_dir, orders: int = 2000, seed: int = 7, otlp_endpoint: str | None = None,
             spans: bool = True) -> dict:
    if not MIN_ORDERS <= orders <= MAX_ORDERS:
        raise ValueError(f"orders={orders}: choose between {MIN_ORDERS} and {MAX_ORDERS}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    zones = clock.Zones(tuple(f[2] for f in net.FACILITIES))
    network = net.build(rng)
    plan = truths.Plan.draw(rng, network, zones)
    cases = flows.build(rng, network, zones, orders, plan)

    files, keys = {}, {}
    for writer in (procurement, erp, ap, supplier_portal):
        counts, hop_keys = writer.write(out, cases, network, zones)
        files.update(counts)
        keys.update(hop_keys)
    _copy_mappings(out)

    carried = _carried(cases, network, keys)
    span_rng = np.random.default_rng([seed, 1])   # ids independent of the data draws
    if not spans:
        n_spans, span_target = 0, None
    elif otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        url = otlp_endpoint.rstrip("/")
        url = url if url.endswith("/v1/traces") else url + "/v1/traces"
        n_spans = middleware.export(carried, OTLPSpanExporter(endpoint=url, timeout=30), span_rng, VERSION)
        span_target = url
    else:
        (out / "spans").mkdir(exist_ok=True)
        with open(out / SPAN_FILE, "w", encoding="utf-8", newline="\n") as f:
            workers = min(os.cpu_count() or 1, 8)
            n_spans = middleware.write_json_lines(carried, f, span_rng, VERSION, workers)
        span_target = SPAN_FILE
        files[SPAN_FILE] = len(middleware.blocks(carried))   # lines: one request per line

    manifest = _manifest(seed, orders, files, n_spans, span_target, cases, network, plan, zones)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    return manifest


def _copy_mappings(out: Path) -> None:
    target = out / "mappings"
    target.mkdir(exist_ok=True)
    for entry in resources.files("sample_logs").joinpath("mappings").iterdir():
        if entry.name.endswith(".toml"):
            (target / entry.name).write_bytes(entry.read_bytes())


def _carried(c, network, keys) -> list[middleware.Carried]:
    po, inv = c.po, c.invoice
    fac = np.array([f[0] for f in net.FACILITIES])
    sup = lambda s: np.asarray(_cat("SUP-", network.supplier_number[s]).to_numpy(zero_copy_only=False))
    ids = lambda prefix, x: np.asarray(_cat(prefix, x).to_numpy(zero_copy_only=False))
    portal = np.flatnonzero(inv["channel"] == "PORTAL")
    posted = np.flatnonzero(~inv["rejected"])
    docs, first = np.unique(c.receipt["document"], return_index=True)
    gr_po = c.receipt["po"][first]
    spec = lambda hop, system, key, obj, p: middleware.Carried(
        c.hops[hop], np.char.add(f"{system}:", keys[hop].astype(str)), obj, fac[po["facility"][p]],
        sup(po["supplier"][p]))
    everyone = np.arange(len(po["number"]))
    return [
        spec("requisition_to_erp", v.PROCUREMENT, None, ids("REQ-", po["requisition"]), everyone),
        spec("po_to_ap", v.ERP, None, ids("PO-", po["number"]), everyone),
        spec("po_to_portal", v.ERP, None, ids("PO-", po["number"]), everyone),
        spec("invoice_to_ap", v.SUPPLIER_PORTAL, None, ids("INV-", inv["id"][portal]), inv["po"][portal]),
        spec("receipt_to_ap", v.ERP, None, ids("GR-", docs), gr_po),
        spec("invoice_to_erp", v.AP, None, ids("INV-", inv["id"][posted]), inv["po"][posted]),
    ]


def _manifest(seed, orders, files, n_spans, span_target, c, network, plan, zones) -> dict:
    times = [c.po["req_create"], c.po["usage"], c.invoice["clear"], c.supplier_event["created"]]
    valid = np.concatenate([t[t >= 0] for t in times])
    return {
        "simulator": "sample_logs", "version": VERSION, "seed": seed, "orders": orders,
        "time_range": {"start": truths.iso(valid.min()), "end": truths.iso(valid.max()),
                       "business_year": "2025"},
        "facilities": [{"id": f[0], "name": f[1], "timezone": f[2], "erp_plant": f[3],
                        "procurement_site": f[4], "ap_facility": f[5]} for f in net.FACILITIES],
        "suppliers": len(network.supplier_number), "items": len(network.item_number),
        "counts": {"purchase_orders": orders, "po_lines": int(len(c.line["po"])),
                   "goods_receipts": int(len(np.unique(c.receipt["document"]))),
                   "returns": int(len(c.returns["po"])), "invoices": int(len(c.invoice["id"])),
                   "payments": int((c.invoice["payment"] > 0).sum()),
                   "cancelled_orders": int(c.po["cancelled"].sum()),
                   "by_flow": {name: int((c.po["flow"] == k).sum()) for k, name in enumerate(flows.FLOW_NAMES)},
                   "stat_orders": int(c.po["stat"].sum()), "spans": n_spans},
        "files": files, "spans_sent_to": span_target,
        "truths": truths.manifest(plan, network, c, zones),
    }
