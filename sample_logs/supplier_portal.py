"""Supplier portal: suppliers acknowledge orders, submit invoices, complete onboarding.

Writes supplier_portal/events.jsonl: one JSON object per event, timestamps ISO 8601 UTC with
milliseconds and "Z". Invoice submissions are one row per invoice line sharing the eventId.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sample_logs import clock, logfiles, network as net
from sample_logs.erp import _cat

COLUMNS = ["eventId", "eventType", "occurredAt", "supplierCode", "supplierUser", "userType",
           "poNumber", "poLine", "invoiceNumber", "apReference", "invoiceDate", "lineNumber", "lineRef",
           "quantity", "unitPrice", "lineAmount", "invoiceTotal", "currency", "paymentTerms"]
NUMERIC = ("quantity", "unitPrice", "lineAmount", "invoiceTotal")
FILE = "supplier_portal/events.jsonl"


def write(out: Path, c, network: net.Network, zones: clock.Zones) -> tuple[dict, dict]:
    po, inv, il = c.po, c.invoice, c.invoice_line
    user = lambda s: _cat(network.supplier_number[s], ".billing")
    blocks = []
    a = np.flatnonzero(po["ack"] >= 0)
    blocks.append({"_time": po["ack"][a], "eventId": _cat("evt-ack-", po["number"][a]),
                   "eventType": "PO_ACKNOWLEDGED", "supplierCode": network.supplier_number[po["supplier"][a]],
                   "supplierUser": user(po["supplier"][a]), "userType": "SUPPLIER_USER",
                   "poNumber": _cat("PO-", po["number"][a])})
    li = np.flatnonzero(inv["channel"][il["invoice"]] == "PORTAL")
    owner = il["invoice"][li]
    pl = il["po_line"][li]
    s = po["supplier"][inv["po"][owner]]
    blocks.append({"_time": inv["submit"][owner], "eventId": _cat("evt-inv-", inv["id"][owner]),
                   "eventType": "INVOICE_SUBMITTED", "supplierCode": network.supplier_number[s],
                   "supplierUser": user(s), "userType": "SUPPLIER_USER",
                   "poNumber": _cat("PO-", po["number"][inv["po"][owner]]),
                   "poLine": _cat("PO-", po["number"][c.line["po"][pl]], "-", c.line["line_no"][pl]),
                   "invoiceNumber": inv["number"][owner], "apReference": _cat("AP-", inv["id"][owner]),
                   "invoiceDate": clock.day_string(inv["date"][owner]), "lineNumber": il["line_no"][li],
                   "lineRef": _cat("AP-", inv["id"][owner], "-", il["line_no"][li]),
                   "quantity": il["quantity"][li], "unitPrice": logfiles.money(il["price"][li]),
                   "lineAmount": logfiles.money(il["price"][li] * il["quantity"][li]),
                   "invoiceTotal": logfiles.money(inv["amount"][owner]), "currency": "USD",
                   "paymentTerms": np.array(net.PAYMENT_TERMS)[inv["terms"][owner]]})
    se = c.supplier_event
    o = np.flatnonzero(se["onboarded"] >= 0)
    blocks.append({"_time": se["onboarded"][o], "eventId": _cat("evt-onb-", network.supplier_number[o]),
                   "eventType": "SUPPLIER_ONBOARDED", "supplierCode": network.supplier_number[o],
                   "supplierUser": user(o), "userType": "SUPPLIER_USER"})
    for b in blocks:
        b["occurredAt"] = clock.iso_utc_millis(b["_time"])
    table, _ = logfiles.stack(blocks, COLUMNS)
    count = logfiles.write_jsonl(out / FILE, table, NUMERIC)
    portal_invoices = np.flatnonzero(inv["channel"] == "PORTAL")
    keys = {"invoice_to_ap": np.asarray(_cat("evt-inv-", inv["id"][portal_invoices]).to_numpy(zero_copy_only=False))}
    return {FILE: count}, keys
