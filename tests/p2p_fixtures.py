"""A hand-written P2P store: build events, objects, relations and attribute changes by name, then
load them as one batch into a real store."""

from __future__ import annotations

import json
from datetime import datetime

import pyarrow as pa

from models import vocabulary as v
from models.batches import Batch


class Hand:
    def __init__(self):
        self.events, self.objects, self.changes, self.e2o, self.o2o = [], {}, [], [], []

    def obj(self, object_id: str, object_type: str, **attributes) -> str:
        if object_id not in self.objects or attributes:     # first seen with its attributes
            self.objects[object_id] = (object_type, attributes)
        return object_id

    def change(self, object_id: str, ts: str, attribute: str, value) -> None:
        self.changes.append((object_id, _ts(ts), attribute, json.dumps(value)))

    def link(self, source: str, target: str, qualifier: str = "") -> None:
        self.o2o.append((source, target, qualifier))

    def event(self, event_id: str, activity: str, ts: str, objects, actor=None, kind=v.PERSON,
              facility="MHS-A", system=v.ERP, **attributes) -> None:
        self.events.append((event_id, activity, _ts(ts), system, facility, actor, kind,
                            json.dumps(attributes), len(self.events)))
        self.e2o.extend((event_id, o, "") for o in objects)

    def batch(self) -> Batch:
        cols = lambda rows, names: pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})
        return Batch(
            event=cols(self.events, ["event_id", "activity", "ts", "source_system", "facility", "actor",
                                     "actor_kind", "attributes", "source_order"]),
            object=pa.table({"object_id": list(self.objects),
                             "object_type": [t for t, _ in self.objects.values()],
                             "attributes": [json.dumps(a) for _, a in self.objects.values()]}),
            object_change=cols(self.changes, ["object_id", "ts", "attribute", "value"]) if self.changes else None,
            event_object=cols(self.e2o, ["event_id", "object_id", "qualifier"]),
            object_object=cols(self.o2o, ["source_id", "target_id", "qualifier"]),
        )


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def order(h: Hand, n: int, *, qty, price, contract=None, flow="stock", buyer="bob",
          created="2025-01-05 09:00:00", supplier="SUP-1", department="LAB") -> str:
    """PO-n with one line POL-n-10 created by `buyer`, from requisition REQ-n of `flow`."""
    po, line, req = f"PO-{n}", f"POL-{n}-10", f"REQ-{n}"
    h.obj(po, v.PURCHASE_ORDER)
    h.obj(line, v.PO_LINE, quantity=qty, unit_price=price, contract_price=contract or price, item=f"{n}00")
    h.obj(req, v.REQUISITION, department=department, flow=flow)
    h.obj(supplier, v.SUPPLIER)
    h.link(line, po, "line of")
    h.link(po, req, "from")
    h.link(po, supplier, "ordered from")
    h.event(f"erp:create-{n}", v.CREATE_PURCHASE_ORDER, created, [po, line, req, supplier], actor=buyer)
    return line


def receipt(h: Hand, n: int, ts: str, qty, activity=v.RECORD_GOODS_RECEIPT) -> None:
    line, gr = f"POL-{n}-10", f"GR-{n}-{ts[:10]}"
    h.obj(gr, v.GOODS_RECEIPT)
    h.link(gr, f"PO-{n}", "receives")
    h.change(line, ts, "received_quantity", qty)
    h.event(f"erp:gr-{n}-{ts}", activity, ts, [gr, f"PO-{n}", line], actor="rita")


def invoice(h: Hand, name: str, *, po_line=None, qty=None, price=None, number=None, amount=None,
            date="2025-01-20", supplier="SUP-1", approver="dana", received="2025-01-21 10:00:00",
            ap_result="MATCHED", ap_reason="") -> str:
    inv = h.obj(f"INV-{name}", v.INVOICE, supplier_invoice_number=number or f"N-{name}",
                amount=amount if amount is not None else qty * price, invoice_date=date)
    h.obj(supplier, v.SUPPLIER)
    objects = [inv, supplier]
    if po_line:
        il = h.obj(f"INVL-{name}-1", v.INVOICE_LINE, quantity=qty, unit_price=price, line_amount=qty * price)
        h.obj(po_line, v.PO_LINE)
        h.link(il, inv, "line of")
        h.link(il, po_line, "bills")
        po = po_line.rsplit("-", 1)[0].replace("POL-", "PO-")
        h.obj(po, v.PURCHASE_ORDER)
        h.link(inv, po, "bills")
        objects += [il, po_line]
    h.event(f"ap:{name}-01", v.RECEIVE_INVOICE, received, objects, actor="svc_capture", kind=v.SERVICE,
            system=v.AP)
    h.event(f"ap:{name}-02", v.MATCH_INVOICE, received.replace("10:", "11:"), [inv, supplier],
            actor="svc_match", kind=v.SERVICE, system=v.AP, match_result=ap_result, exception_reason=ap_reason)
    h.event(f"ap:{name}-08", v.APPROVE_INVOICE, "2025-02-01 12:00:00", [inv], actor=approver, system=v.AP)
    return inv
