"""AP automation platform: invoice capture, three-way/two-way match verdicts, exceptions, holds,
approvals.

Writes ap/invoice_activity.csv: comma-delimited with a Title Case header, timestamps
"%m/%d/%Y %I:%M:%S %p" in the tenant's zone (America/New_York, no offset written: the mapping
names the zone). Capture rows ("Received") are one per invoice line sharing the Event Ref.
Invoices that came through the supplier portal start at "Match Completed" (the portal logged
their receipt).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sample_logs import clock, logfiles, network as net
from sample_logs.erp import _cat

COLUMNS = ["Event Ref", "Status", "Timestamp", "Invoice ID", "Invoice Number", "PO Number",
           "Vendor ID", "Vendor Name", "Facility", "Department", "Invoice Line", "Line Ref", "PO Line", "Item",
           "Quantity", "Unit Price", "Line Amount", "Invoice Total", "Invoice Date", "Due Date",
           "Payment Terms", "Channel", "Match Type", "Match Result", "Exception ID",
           "Exception Reason", "Routed To", "Routing Rule", "Hold Reason", "User", "User Type"]
FILE = "ap/invoice_activity.csv"


def write(out: Path, c, network: net.Network, zones: clock.Zones) -> tuple[dict, dict]:
    po, inv, il = c.po, c.invoice, c.invoice_line
    ap_zone = zones.names.index(net.AP_ZONE)
    campus = np.array([f[5] for f in net.FACILITIES])
    dept = np.array([d[1] for d in net.DEPARTMENTS])
    terms = np.array(net.TERMS_TEXT)

    def rows(idx, time, code, status, user, **extra):
        p = inv["po"][idx]
        user = np.asarray(user) if not isinstance(user, str) else np.full(len(idx), user)
        return dict(_time=time, **{
            "Event Ref": _cat("E", inv["id"][idx], "-", code), "Status": status,
            "Invoice ID": _cat("AP-", inv["id"][idx]), "Invoice Number": inv["number"][idx],
            "PO Number": _cat("PO ", po["number"][p]),
            "Vendor ID": _cat("V", network.supplier_number[po["supplier"][p]]),
            "Vendor Name": network.supplier_name[po["supplier"][p]],
            "Facility": campus[po["facility"][p]], "Department": dept[po["department"][p]],
            "Invoice Total": logfiles.money(inv["amount"][idx]),
            "Invoice Date": clock.day_string(inv["date"][idx], "%m/%d/%Y"),
            "Due Date": clock.day_string(inv["due"][idx], "%m/%d/%Y"),
            "Payment Terms": terms[inv["terms"][idx]], "Channel": inv["channel"][idx],
            "Match Type": np.where(inv["three_way"][idx], "3-WAY", "2-WAY"),
            "User": user, "User Type": np.where(np.char.startswith(user.astype(str), "svc_"), "SYSTEM", "USER"),
            **extra})

    blocks = []
    # capture of emailed / paper invoices, one row per line
    direct = inv["channel"][il["invoice"]] != "PORTAL"
    li = np.flatnonzero(direct)
    owner = il["invoice"][li]
    pl = il["po_line"][li]
    paper = inv["channel"][owner] == "PAPER"
    clerk = network.people["ap_clerk"][po["facility"][inv["po"][owner]], 0]
    blocks.append(rows(owner, inv["ap_receive"][owner], "01", "Received",
                       np.where(paper, clerk, net.SERVICE_ACCOUNTS["ap_capture"]), **{
                           "Invoice Line": il["line_no"][li],
                           "Line Ref": _cat("AP-", inv["id"][owner], "-", il["line_no"][li]),
                           "PO Line": _cat(po["number"][c.line["po"][pl]], "-", c.line["line_no"][pl]),
                           "Item": network.item_number[c.line["item"][pl]], "Quantity": il["quantity"][li],
                           "Unit Price": logfiles.money(il["price"][li]),
                           "Line Amount": logfiles.money(il["price"][li] * il["quantity"][li])}))
    k = np.arange(len(inv["id"]))
    exc_id = _cat("EXC-", inv["exception_id"])
    blocks.append(rows(k, inv["match"], "02", "Match Completed", net.SERVICE_ACCOUNTS["ap_match"],
                       **{"Match Result": inv["verdict"], "Exception Reason": inv["reason"]}))
    e = np.flatnonzero(inv["verdict"] == "EXCEPTION")
    exc = lambda extra=None: {"Exception ID": exc_id.take(e), "Exception Reason": inv["reason"][e],
                              "Match Result": "EXCEPTION", **(extra or {})}
    blocks.append(rows(e, inv["flag"][e], "03", "Exception Raised", net.SERVICE_ACCOUNTS["ap_match"], **exc()))
    blocks.append(rows(e, inv["route"][e], "04", "Exception Routed", net.SERVICE_ACCOUNTS["ap_match"],
                       **exc({"Routed To": inv["routed_to"][e], "Routing Rule": inv["routing_rule"][e]})))
    blocks.append(rows(e, inv["resolve"][e], "05", "Exception Resolved", inv["routed_to"][e], **exc()))
    b = np.flatnonzero(inv["blocked"])
    blocks.append(rows(b, inv["block"][b], "06", "Payment Hold Applied", net.SERVICE_ACCOUNTS["ap_match"],
                       **{"Hold Reason": "PRICE_VARIANCE"}))
    blocks.append(rows(b, inv["release"][b], "07", "Payment Hold Released", inv["routed_to"][b],
                       **{"Hold Reason": "PRICE_VARIANCE"}))
    ok = np.flatnonzero(~inv["rejected"])
    blocks.append(rows(ok, inv["approve"][ok], "08", "Approved", inv["approver"][ok]))
    rj = np.flatnonzero(inv["rejected"])
    blocks.append(rows(rj, inv["approve"][rj], "09", "Rejected", inv["approver"][rj],
                       **{"Exception Reason": "DUPLICATE"}))
    for blk in blocks:
        blk["Timestamp"] = clock.strftime(zones.local(ap_zone, blk["_time"]), "%m/%d/%Y %I:%M:%S %p")
    table, _ = logfiles.stack(blocks, COLUMNS)
    count = logfiles.write_csv(out / FILE, table)
    keys = {"invoice_to_erp": np.asarray(_cat("E", inv["id"][ok], "-08").to_numpy(zero_copy_only=False))}
    return {FILE: count}, keys
