"""Clinical procurement platform: requisitions, their approval, and implant usage (bill-only).

Writes procurement/requisition_events.jsonl: one JSON object per status change, camelCase keys,
times in ISO 8601 local time of the facility with its UTC offset, e.g. 2025-03-04T09:12:33-06:00.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sample_logs import clock, logfiles, network as net
from sample_logs.flows import BILL_ONLY, FLOW_NAMES

COLUMNS = ["eventKey", "status", "occurredAt", "siteCode", "department", "userId", "userType",
           "requisitionNumber", "poNumber", "vendorNumber", "itemNumbers", "urgency",
           "estimatedTotal", "currency", "usageId", "caseType"]
NUMERIC = ("estimatedTotal",)


def joined_per_order(c, values: np.ndarray, sep: str = "|") -> pa.Array:
    """Each PO's line values joined into one cell, e.g. "300123|300456"."""
    offsets = pa.array(np.concatenate([c.po["first_line"], [len(c.line["po"])]]).astype(np.int32))
    return pc.binary_join(pa.ListArray.from_arrays(offsets, pc.cast(pa.array(values), pa.string())), sep)


def write(out: Path, c, network: net.Network, zones: clock.Zones) -> tuple[dict, dict]:
    po = c.po
    n = len(po["number"])
    fac, dep = po["facility"], po["department"]
    site = np.array([f[4] for f in net.FACILITIES])
    dept = np.array([d[0] for d in net.DEPARTMENTS])
    req = pc.binary_join_element_wise("RQ", pc.cast(pa.array(po["requisition"]), pa.string()), "")
    common = dict(siteCode=site[fac], department=dept[dep], requisitionNumber=req,
                  poNumber=po["number"],
                  vendorNumber=pc.utf8_lpad(pc.cast(pa.array(network.supplier_number[po["supplier"]]), pa.string()), 10, "0"),
                  itemNumbers=joined_per_order(c, network.item_number[c.line["item"]]),
                  urgency=np.where(po["stat"], "STAT", "ROUTINE"), estimatedTotal=logfiles.money(po["amount"]),
                  currency="USD", caseType=np.array(FLOW_NAMES)[po["flow"]], _fac=fac)

    def key(code: str, numbers) -> pa.Array:
        return pc.binary_join_element_wise("RQE-", pc.cast(pa.array(numbers), pa.string()), "-" + code, "")

    bill = np.flatnonzero(po["flow"] == BILL_ONLY)
    sub = lambda idx: {k: (v.take(pa.array(idx)) if isinstance(v, pa.Array) else
                           (v[idx] if isinstance(v, np.ndarray) else v)) for k, v in common.items()}
    usage = dict(sub(bill), eventKey=key("U", po["requisition"][bill]), status="IMPLANT_USAGE_LOGGED",
                 _time=po["usage"][bill], userId=po["requester"][bill], userType="CLINICIAN",
                 usageId=pc.binary_join_element_wise("U", pc.cast(pa.array(po["requisition"][bill]), pa.string()), ""))
    everyone = np.arange(n)
    submitted = dict(sub(everyone), eventKey=key("S", po["requisition"]), status="REQ_SUBMITTED",
                     _time=po["req_create"], userId=po["requester"], userType="CLINICIAN")
    approved = dict(sub(everyone), eventKey=key("A", po["requisition"]), status="REQ_APPROVED",
                    _time=po["req_approve"], userId=po["req_approver"], userType="CLINICIAN")
    r = c.rejected_requisition
    rnum = pc.binary_join_element_wise("RQ", pc.cast(pa.array(r["number"]), pa.string()), "")
    rej_common = dict(siteCode=site[r["facility"]], department=dept[r["department"]],
                      requisitionNumber=rnum, estimatedTotal=logfiles.money(r["amount"]),
                      currency="USD", urgency="ROUTINE", caseType="stock", _fac=r["facility"])
    rej_sub = dict(rej_common, eventKey=key("S", r["number"]), status="REQ_SUBMITTED",
                   _time=r["create"], userId=r["requester"], userType="CLINICIAN")
    rejected = dict(rej_common, eventKey=key("R", r["number"]), status="REQ_REJECTED",
                    _time=r["reject"], userId=r["approver"], userType="CLINICIAN")
    blocks = [usage, submitted, approved, rej_sub, rejected]
    for b in blocks:   # local time of the facility, with its offset
        t, z = b["_time"], b["_fac"]
        b["occurredAt"] = clock.iso_with_offset(zones.local(z, t), zones.offset(z, t))
    table, _ = logfiles.stack(blocks, COLUMNS)
    rows = logfiles.write_jsonl(out / "procurement" / "requisition_events.jsonl", table, NUMERIC)
    keys = {"requisition_to_erp": np.asarray(approved["eventKey"].to_numpy(zero_copy_only=False))}
    return {"procurement/requisition_events.jsonl": rows}, keys
