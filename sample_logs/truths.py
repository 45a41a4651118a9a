"""The planted truths: what the simulator hides in the data on purpose, and the manifest saying so.

`Plan.draw` fixes the parameters (who, when, how much) before any order exists; the flows consult
it while drawing; `manifest` then reads the affected ids back out of the drawn tables, so the
manifest describes what was actually written, not what was intended.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sample_logs import clock, network as net, sync

ID_LIST_CAP = 200   # manifests list at most this many ids per truth, always with the full count


@dataclass
class Plan:
    outage_start: int
    outage_end: int
    over_contract_supplier: int
    over_contract_pct: float
    four_eyes_person: str
    watchlist_suppliers: np.ndarray
    after_the_fact_facility: int
    after_the_fact_department: int
    month_end_share: float = 0.35
    erp_zone: int = 0                      # FACILITIES[0] is in the ERP's zone (Chicago)
    trouble: sync.Disturbances = field(init=False)
    bank_change_planted: dict = field(default_factory=dict)

    def __post_init__(self):
        self.trouble = sync.Disturbances(self.outage_start, self.outage_end)

    @classmethod
    def draw(cls, rng: np.random.Generator, network: net.Network, zones: clock.Zones) -> "Plan":
        # a Tuesday to Thursday between March and October, 10:00-16:00 in the ERP's zone
        week = int(rng.integers(10, 42))
        day = week * 7 + (1 - clock.YEAR_START.weekday()) % 7 + int(rng.integers(0, 3))
        start = int(zones.from_local(0, np.array([clock.START_MS + day * clock.MS_DAY + 10 * clock.MS_HOUR]))[0])
        supplies = np.flatnonzero(network.supplier_category == net.CATEGORY_NAMES.index("medical_supplies"))
        # the second or third biggest in its category: orders at any size, but not the leader
        over = int(supplies[min(len(supplies) - 1, 1 + int(rng.integers(0, 2)))])
        buyer = str(network.people["buyer"][0, 1])
        watch = rng.choice(len(network.supplier_number), 2, replace=False)
        return cls(start, start + 6 * clock.MS_HOUR, over, round(float(rng.uniform(7, 12)), 1), buyer,
                   watch, 1, net.DEPARTMENTS.index(next(d for d in net.DEPARTMENTS if d[0] == "LAB")))

    # -- decisions the flows ask for ---------------------------------------------------------
    def choose_order_truths(self, rng, network, po: dict) -> None:
        n = len(po["number"])
        from sample_logs.flows import BILL_ONLY, STOCK
        in_dept = (po["facility"] == self.after_the_fact_facility) & (po["department"] == self.after_the_fact_department)
        eligible = po["flow"] != BILL_ONLY
        atf = eligible & np.where(in_dept, rng.random(n) < 0.5, rng.random(n) < 0.002)
        # small networks still get a visible cluster: at least three in the department
        atf[np.flatnonzero(in_dept & eligible)[:3]] = True
        candidates = np.flatnonzero((po["flow"] == STOCK) & ~atf)
        forced = np.zeros(n, bool)
        forced[rng.choice(candidates, min(len(candidates), max(4, n // 400)), replace=False)] = True
        po["stat"] = po["stat"] | forced       # urgent orders: approved within the hour
        po["after_the_fact"], po["forced_outage"] = atf, forced

    def choose_duplicates(self, rng, invoice_po: np.ndarray, po: dict, m: int) -> np.ndarray:
        ok = np.flatnonzero(~po["after_the_fact"][invoice_po] & ~po["forced_outage"][invoice_po])
        return np.sort(rng.choice(ok, min(len(ok), max(3, m // 250)), replace=False))

    def bank_changes(self, rng, network, c) -> dict:
        """One planted change days before a supplier's largest payment, plus a few harmless ones."""
        inv, po = c.invoice, c.po
        window = (inv["pay_release"] > clock.START_MS + 40 * clock.MS_DAY) & \
                 (inv["pay_release"] < clock.START_MS + 330 * clock.MS_DAY)
        target = int(np.flatnonzero(window)[np.argmax(inv["pay_amount"][window])])
        supplier = int(po["supplier"][inv["po"][target]])
        release = int(inv["pay_release"][target])
        change = release - int(rng.integers(36, 96)) * clock.MS_HOUR
        others = rng.choice(np.setdiff1d(np.arange(len(network.supplier_number)), [supplier]), 3, replace=False)
        other_times = clock.START_MS + rng.integers(5, 60, 3) * clock.MS_DAY + 14 * clock.MS_HOUR
        suppliers = np.concatenate([[supplier], others])
        accounts = 10_000_000 + rng.integers(0, 89_999_999, (len(suppliers), 2))
        self.bank_change_planted = dict(supplier=supplier, invoice_row=target, change=change,
                                        release=release)
        return dict(supplier=suppliers, time=np.concatenate([[change], other_times]),
                    old_account=accounts[:, 0], new_account=accounts[:, 1],
                    planted=np.arange(len(suppliers)) == 0)


def _ids(values) -> dict:
    values = [str(x) for x in values]
    return {"count": len(values), "ids": values[:ID_LIST_CAP], "truncated": len(values) > ID_LIST_CAP}


def iso(ms: int) -> str:
    return str(np.datetime64(int(ms), "ms").astype("datetime64[s]")) + "Z"


def manifest(plan: Plan, network: net.Network, c, zones: clock.Zones) -> dict:
    """The planted truths with their parameters and the ids they touched, read from the data."""
    po, inv, il, line = c.po, c.invoice, c.invoice_line, c.line
    fmt_po = lambda idx: [f"PO-{po['number'][i]}" for i in idx]
    fmt_inv = lambda rows: [f"INV-{inv['id'][r]}" for r in rows]
    sup_id = lambda s: f"SUP-{network.supplier_number[s]}"

    # (a) outage: ERP->AP events whose writes failed during the window, invoices that found no PO
    delayed = {}
    for name in ("po_to_ap", "receipt_to_ap"):
        hop = c.hops[name]
        failed = np.unique(hop.attempt_owner[hop.attempt_status == 503])
        delayed[name] = failed
    in_window = (inv["ap_receive"] >= plan.outage_start) & (inv["ap_receive"] < plan.outage_end)
    missing_po = np.flatnonzero(in_window & (inv["reason"] == "PO_NOT_FOUND"))
    # (b) over-contract supplier
    s = plan.over_contract_supplier
    over_lines = (po["supplier"][line["po"][il["po_line"]]] == s) & \
                 (il["price"] > line["contract_price"][il["po_line"]] + 0.005)
    # (c) duplicates
    dups = np.flatnonzero(inv["duplicate_of"] > 0)
    orig = inv["duplicate_of"][dups] - 1000001
    # (d) four eyes
    fe = np.flatnonzero((inv["approver"] == plan.four_eyes_person) & (po["buyer"][inv["po"]] == plan.four_eyes_person))
    # (e) after the fact
    atf = np.flatnonzero(po["after_the_fact"])
    # (f) month-end surge, by the supplier's invoice date
    day = (inv["date"] // clock.MS_DAY).astype("datetime64[D]")
    last3 = (day + 3).astype("datetime64[M]") != day.astype("datetime64[M]")
    days_total = np.unique(day).size
    days_last3 = np.unique(day[last3]).size
    per_day_last3 = last3.sum() / max(days_last3, 1)
    per_day_other = (~last3).sum() / max(days_total - days_last3, 1)
    # (g) 429s
    throttled = 0
    busy = 0
    for name in ("requisition_to_erp", "invoice_to_erp"):
        hop = c.hops[name]
        t = hop.attempt_status == 429
        throttled += int(t.sum())
        busy += int(clock.in_business_hours(zones, plan.erp_zone, hop.attempt_start[t]).sum())
    # (h) bank change before a large payment
    b = plan.bank_change_planted
    r = b["invoice_row"]
    fac = [f[0] for f in net.FACILITIES]
    return {
        "outage": {
            "description": "ERP->AP connector down: every write to AP fails (503) and retries with backoff",
            "service": "erp-ap-connector", "source_system": "erp", "target_system": "ap",
            "start": iso(plan.outage_start), "end": iso(plan.outage_end), "hours": 6,
            "delayed_purchase_orders": _ids(fmt_po(delayed["po_to_ap"])),
            "delayed_goods_receipts": _ids([f"GR-{x}" for x in np.unique(c.receipt["document"])[delayed["receipt_to_ap"]]]),
            "missing_po_invoices": _ids(fmt_inv(missing_po)),
        },
        "over_contract_supplier": {
            "supplier_id": sup_id(s), "name": str(network.supplier_name[s]),
            "percent_above_contract": plan.over_contract_pct,
            "invoice_lines_above_contract": int(over_lines.sum()),
            "invoices": _ids(fmt_inv(np.unique(il["invoice"][over_lines]))),
        },
        "duplicate_invoices": {
            "description": "the same invoice re-sent by email 1-6 days later with its number reformatted",
            "pairs": [{"original": f"INV-{inv['id'][o]}", "original_number": str(inv["number"][o]),
                       "duplicate": f"INV-{inv['id'][d]}", "duplicate_number": str(inv["number"][d]),
                       "supplier_id": sup_id(po["supplier"][inv["po"][d]]),
                       "amount": float(inv["amount"][d]), "paid": bool(not inv["rejected"][d])}
                      for o, d in list(zip(orig, dups))[:ID_LIST_CAP]],
            "count": int(len(dups)),
        },
        "four_eyes_violation": {
            "person": plan.four_eyes_person, "role": "buyer",
            "facility": fac[0],
            "invoices_approved_on_own_orders": _ids(fmt_inv(fe)),
            "purchase_orders": _ids(fmt_po(np.unique(inv["po"][fe]))),
        },
        "after_the_fact_orders": {
            "facility": fac[plan.after_the_fact_facility],
            "department": net.DEPARTMENTS[plan.after_the_fact_department][0],
            "purchase_orders": _ids(fmt_po(atf)),
            "in_department": int(((po["facility"][atf] == plan.after_the_fact_facility) &
                                  (po["department"][atf] == plan.after_the_fact_department)).sum()),
            "note": "invoice dated before the requisition; bill-only implants are excluded",
        },
        "month_end_surge": {
            "share_moved_to_month_end": plan.month_end_share,
            "month_end_days": "last 3 calendar days of each month (supplier invoice date)",
            "invoices_per_month_end_day": round(float(per_day_last3), 2),
            "invoices_per_other_day": round(float(per_day_other), 2),
        },
        "erp_rate_limiting": {
            "description": "ERP API answers 429 with Retry-After 30-150 s; 35% of writes in ERP business hours (Mon-Fri 8-18 America/Chicago), 1% otherwise",
            "services": ["procurement-erp-bridge", "erp-ap-connector"],
            "spans_429": throttled, "spans_429_in_business_hours": busy,
        },
        "bank_change_before_payment": {
            "supplier_id": sup_id(b["supplier"]), "changed_at": iso(b["change"]),
            "payment_id": f"PAY-{inv['payment'][r]}", "invoice_id": f"INV-{inv['id'][r]}",
            "payment_released_at": iso(b["release"]), "amount": float(inv["pay_amount"][r]),
            "hours_between": round((b["release"] - b["change"]) / clock.MS_HOUR, 1),
        },
    }
