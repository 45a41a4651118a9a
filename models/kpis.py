"""Procure-to-pay KPIs: one registry (`REGISTRY`) says what each KPI is — id, name, formula in
plain words, unit, which direction is good, how its facts aggregate — and models/sql/kpis.sql
holds, per KPI id, the block that yields its facts per case. `kpis` measures any of them per
group (facility, supplier, department, category) and period (day, week, month, quarter).

Conventions:
- Values of unit "%" are fractions (0.25 = 25 %); rates also give numerator and denominator.
- Each fact counts at one moment (`counted_at`: when the invoice was paid, received, …, named in each
  formula); a period filter and the period buckets use that moment.
- Filters apply to the dimensions a KPI has (`dims`): supplier onboarding has only the supplier,
  sync lag the facility and supplier. Grouped by a dimension a KPI lacks, it has no rows.
- `as_of` (states: open exceptions, blocks, lost discounts) defaults to the last event in the
  store, so a simulated or replayed history reads like a live one.
- Category: the UNSPSC segment (first two digits) of the order's first line.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from models import vocabulary as v
from models.documents import BILL_ONLY, query
from models.filters import ALL, Filters
from models.match import AP_VERDICTS, MATCHED
from models.queries import bind, composed, execute, keyed_table, sql

GROUPS = ("facility", "supplier", "department", "category")
PERIODS = ("day", "week", "month", "quarter")
AGGREGATIONS = ("mean", "rate", "p95", "sum")
INVOICE_DIMS = GROUPS

EARLY_DAYS = 7                 # paid more than this many days before the due date = early
DUPLICATE_WINDOW_DAYS = 30     # audit.duplicate_invoices' window (its default, as control_findings keeps)
DEFAULT_COMPARE_DAYS = 30      # period_over_period without a period filter: the last 30 days
FACT_COLUMNS = "case_id, facility, supplier, department, category, counted_at, x, d"   # of every KPI block
AP_MATCHED = next(code for code, outcome in AP_VERDICTS.items() if outcome == MATCHED)


@dataclass(frozen=True)
class KPI:
    id: str                    # also the name of its block in sql/kpis.sql
    name: str
    formula: str
    unit: str                  # days | hours | % | count | money | per invoice
    good: str                  # up | down
    agg: str                   # mean | rate | p95 | sum (of the facts' x; rate: sum x / sum d)
    dims: tuple[str, ...] = INVOICE_DIMS


REGISTRY: tuple[KPI, ...] = (
    KPI("cycle_time", "Invoice cycle time",
        "Mean days from the invoice's first receipt in AP (Receive Invoice) to its payment's "
        "release (first Release Payment); counted when paid.", "days", "down", "mean"),
    KPI("receipt_to_approval", "Receipt to approval",
        "Mean hours from the invoice's first receipt to its last approval; counted when approved.",
        "hours", "down", "mean"),
    KPI("first_pass_match_rate", "First-pass match rate",
        "Invoices whose first AP match verdict was MATCHED and that never had a match exception "
        "flagged / invoices the AP platform matched; counted when received.", "%", "up", "rate"),
    KPI("touchless_rate", "Touchless rate",
        "Approved invoices that no person touched from receipt to approval (no event by a person "
        "between the first receipt and the last approval, the approval itself left out; a person "
        "keying the invoice in counts) / approved invoices; counted when received.", "%", "up", "rate"),
    KPI("manual_touches", "Manual touches per invoice",
        "Mean number of events by a person on an approved invoice from its receipt to its "
        "approval, the approval left out; counted when received.", "per invoice", "down", "mean"),
    KPI("exception_rate", "Exception rate",
        "Received invoices with at least one Flag Match Exception / received invoices; counted "
        "when received.", "%", "down", "rate"),
    KPI("open_exceptions", "Open exceptions",
        "Match exceptions flagged and not resolved at as_of; counted when flagged "
        "(ages: exception_aging).", "count", "down", "sum"),
    KPI("blocked_invoices", "Blocked invoices",
        "Invoices whose latest Block Invoice has no later Release Invoice Block at as_of; "
        "counted when blocked (list: blocked_invoices).", "count", "down", "sum"),
    KPI("blocked_amount", "Blocked amount",
        "Sum of the amounts of the invoices blocked at as_of; counted when blocked.",
        "money", "down", "sum"),
    KPI("on_time_payment_rate", "On-time payment rate",
        f"Paid invoices whose payment was released on the due date or up to {EARLY_DAYS} days "
        "before it / paid invoices with a due date; counted when paid.", "%", "up", "rate"),
    KPI("late_payment_rate", "Late payment rate",
        "Paid invoices released after the due date / paid invoices with a due date; counted when paid.",
        "%", "down", "rate"),
    KPI("early_payment_rate", "Early payment rate",
        f"Paid invoices released more than {EARLY_DAYS} days before the due date / paid invoices "
        "with a due date; counted when paid.", "%", "down", "rate"),
    KPI("discount_captured", "Discount captured",
        "Sum of the early-payment discounts (terms such as 2/10 net 30: 2 % of the amount) of "
        "invoices paid within the discount days of the invoice date; counted when paid.",
        "money", "up", "sum"),
    KPI("discount_lost", "Discount lost",
        "Sum of the discounts offered but missed: paid after the discount days, or unpaid when "
        "they ran out before as_of; counted when paid, else the day after the window closed.",
        "money", "down", "sum"),
    KPI("duplicate_payments", "Duplicate payment incidents",
        "Duplicate invoice pairs (audit.duplicate_invoices) whose original and duplicate were both "
        "paid; counted when the duplicate was paid.", "count", "down", "sum"),
    KPI("after_the_fact_rate", "After-the-fact PO rate",
        "Invoiced orders, bill-only implants left out, that audit.po_after_invoice lists (created "
        "after the invoice date, its receipt in AP, or the goods receipt) / invoiced orders, "
        "bill-only left out; counted when the order was created.", "%", "down", "rate"),
    KPI("contract_compliance", "Contract price compliance",
        "Invoice lines of order lines under a GPO contract priced at or below the contract price "
        "(to the cent) / such lines; counted when the invoice was received.", "%", "up", "rate"),
    KPI("supplier_onboarding", "Supplier onboarding time",
        "Mean days from Create Supplier to Complete Supplier Onboarding; counted when onboarded.",
        "days", "down", "mean", ("supplier",)),
    KPI("sync_lag_p95", "Sync lag p95",
        "95th percentile, in hours, of the lag of committed business events into each target "
        "system (sync_hop: target commit - event time); counted at the event time.",
        "hours", "down", "p95", ("facility", "supplier")),
    KPI("audit_traceability", "Audit traceability",
        "Invoice cases whose every event has an actor, a time and a source system, and whose every "
        "hop between systems (consecutive events of the case in different source systems) was "
        "carried by traced traffic (the earlier event has a committed sync_hop into the later "
        "event's system) / invoice cases; counted at the case's first event.", "%", "up", "rate"),
)
BY_ID = {k.id: k for k in REGISTRY}

# Bound wherever a block asks for them: activities, object types and codes are never re-typed.
NAMES = {
    "invoice": v.INVOICE, "exception": v.EXCEPTION, "supplier": v.SUPPLIER, "person": v.PERSON,
    "receive_invoice": v.RECEIVE_INVOICE, "approve_invoice": v.APPROVE_INVOICE,
    "release_payment": v.RELEASE_PAYMENT, "match_invoice": v.MATCH_INVOICE,
    "flag_exception": v.FLAG_MATCH_EXCEPTION, "resolve_exception": v.RESOLVE_EXCEPTION,
    "block_invoice": v.BLOCK_INVOICE, "release_block": v.RELEASE_INVOICE_BLOCK,
    "create_supplier": v.CREATE_SUPPLIER, "complete_onboarding": v.COMPLETE_SUPPLIER_ONBOARDING,
    "ap_matched": AP_MATCHED, "bill_only": BILL_ONLY,
    "early_days": EARLY_DAYS,
}


def definitions() -> list[dict]:
    """Every KPI: id, name, formula, unit, good (up/down), agg, dims — for docs and help texts."""
    return [{**asdict(k), "dims": list(k.dims)} for k in REGISTRY]


def kpis(con, by: str | None = None, period: str | None = None, filters: Filters = ALL, *,
         ids=None, as_of: datetime | None = None) -> pa.Table:
    """One row per (KPI, group, period): kpi, name, unit, good, group (NULL overall), period
    (first day of the bucket; NULL without periods), value, numerator and denominator (rates),
    cases (facts the value rests on). `ids` narrows to some KPIs (default: all)."""
    measured = _measure(con, by, period, filters, ids, as_of)
    if by is None and period is None:      # a count or sum with nothing to count is 0, not absent
        present = set(measured.column("kpi").to_pylist())
        wanted = _known(ids) if ids is not None else list(BY_ID)
        zeros = [{"kpi": i, "group": None, "period": None, "value": 0.0, "numerator": None,
                  "denominator": None, "cases": 0} for i in wanted if BY_ID[i].agg == "sum" and i not in present]
        if zeros:
            measured = _in_registry_order(pa.concat_tables(
                [measured, pa.Table.from_pylist(zeros, schema=measured.schema)]), wanted)
    return _described(measured)


def _measure(con, by, period, filters: Filters, ids, as_of, apart: bool = False) -> pa.Table:
    """The KPIs' values per group and period (`measure`); `apart`: per group, and apart from
    that per period, from one read of the facts (`grouped_apart`)."""
    if by not in (None, *GROUPS):
        raise ValueError(f"by={by!r}: choose one of {', '.join(GROUPS)} or None")
    if period not in (None, *PERIODS):
        raise ValueError(f"period={period!r}: choose one of {', '.join(PERIODS)} or None")
    chosen = [BY_ID[i] for i in _known(ids)] if ids is not None else list(REGISTRY)
    wanted = [k.id for k in chosen]
    params = {**NAMES, **filters.params(), "as_of": as_of, "by": by, "period": period, "apart": apart,
              "kpis": wanted,
              "dims_by": [k.id for k in chosen if by is None or by in k.dims] or [""],
              **{f"dims_{d}": [k.id for k in REGISTRY if d in k.dims] for d in GROUPS},
              **_onboarding_steps(con, wanted)}
    blocks = {"grouped": sql("kpis.grouped_apart")} if apart else {}
    q = composed("kpis.measure", inlined=("inv_fact",), **blocks, facts="\nUNION ALL ".join(
        f"SELECT '{k.id}' AS kpi, '{k.agg}' AS agg, * FROM {k.id} AS f({FACT_COLUMNS})" for k in chosen))
    return con.sql(q, params=bind(q, params)).to_arrow_table()


def _described(measured: pa.Table) -> pa.Table:
    """`measured` with each KPI's name, unit and good direction after its id."""
    meta = [BY_ID[i] for i in measured.column("kpi").to_pylist()]
    out = measured
    for pos, col in ((1, "name"), (2, "unit"), (3, "good")):
        out = out.add_column(pos, col, pa.array([getattr(k, col) for k in meta], pa.string()))
    return out


def kpi(con, kpi_id: str, by: str | None = None, period: str | None = None,
        filters: Filters = ALL, *, as_of: datetime | None = None) -> pa.Table:
    """`kpis` for one KPI."""
    return kpis(con, by, period, filters, ids=[kpi_id], as_of=as_of)


def trend(con, kpi_id: str, period: str = "month", filters: Filters = ALL) -> pa.Table:
    """One KPI overall per period, oldest first (columns as `kpis`)."""
    return kpi(con, kpi_id, period=period, filters=filters)


def period_over_period(con, filters: Filters = ALL) -> pa.Table:
    """Per KPI: value in the filters' period (both days set) — else the last
    DEFAULT_COMPARE_DAYS days up to the last event — against the equal-length period just
    before: kpi, name, unit, good, start, end, value, previous_start, previous_end, previous,
    change (value - previous), change_pct (change / |previous|), improved (the change goes the
    good way; NULL when either value is missing or nothing changed)."""
    if filters.start is not None and filters.end is not None:
        start, end = filters.start, filters.end
    else:
        end = filters.end or last_event_day(con)
        start = filters.start or end - timedelta(days=DEFAULT_COMPARE_DAYS - 1)
    days = (end - start).days + 1
    prev_end = start - timedelta(days=1)
    prev_start = prev_end - timedelta(days=days - 1)
    now = _values(kpis(con, filters=replace(filters, start=start, end=end)))
    before = _values(kpis(con, filters=replace(filters, start=prev_start, end=prev_end)))
    rows = []
    for k in REGISTRY:
        value, previous = now.get(k.id), before.get(k.id)
        change = value - previous if value is not None and previous is not None else None
        rows.append({
            "kpi": k.id, "name": k.name, "unit": k.unit, "good": k.good,
            "start": start, "end": end, "value": value,
            "previous_start": prev_start, "previous_end": prev_end, "previous": previous,
            "change": change,
            "change_pct": change / abs(previous) if change is not None and previous else None,
            "improved": None if not change else (change > 0) == (k.good == "up"),
        })
    return pa.Table.from_pylist(rows)


# The KPIs an executive sees first, in this order.
HEADLINE = ("cycle_time", "first_pass_match_rate", "touchless_rate", "exception_rate",
            "on_time_payment_rate", "discount_lost", "after_the_fact_rate", "sync_lag_p95")


def headline(con, ids=HEADLINE, filters: Filters = ALL) -> list[dict]:
    """Per KPI: its monthly series within the filters, and the latest *representative* month
    against the month before it: kpi, name, unit, good, month, value, previous, change,
    improved, series (monthly values, oldest first). A month is representative when it rests on
    at least half the cases of the KPI's median month, so the thin tail of a history (a month of
    stragglers) never becomes the headline."""
    return _tiles(kpis(con, period="month", filters=filters, ids=list(ids)).to_pylist(), ids)


def scorecard(con, by: str, ids=HEADLINE, filters: Filters = ALL) -> tuple[list[dict], pa.Table]:
    """`headline(ids)` and `kpis(by, ids=ids)` together, from one read of the facts (what the
    Overview shows: at 1M invoices the facts cost more than either aggregation)."""
    measured = _described(_measure(con, by, "month", filters, list(ids), None, apart=True))
    monthly = pc.is_valid(measured["period"])
    return _tiles(measured.filter(monthly).to_pylist(), ids), measured.filter(pc.invert(monthly))


def _tiles(monthly: list[dict], ids) -> list[dict]:
    out = []
    for kpi_id in ids:
        rows = sorted((r for r in monthly if r["kpi"] == kpi_id and r["value"] is not None),
                      key=lambda r: r["period"])
        k = BY_ID[kpi_id]
        if not rows:
            out.append({"kpi": kpi_id, "name": k.name, "unit": k.unit, "good": k.good, "month": None,
                        "value": None, "previous": None, "change": None, "improved": None, "series": []})
            continue
        median = sorted(r["cases"] for r in rows)[len(rows) // 2]
        latest = [i for i, r in enumerate(rows) if r["cases"] >= median / 2][-1]
        value = rows[latest]["value"]
        previous = rows[latest - 1]["value"] if latest else None
        change = value - previous if previous is not None else None
        out.append({"kpi": kpi_id, "name": k.name, "unit": k.unit, "good": k.good,
                    "month": rows[latest]["period"], "value": value, "previous": previous,
                    "change": change, "improved": None if not change else (change > 0) == (k.good == "up"),
                    "series": [r["value"] for r in rows[:latest + 1]]})
    return out


def exception_aging(con, as_of: datetime | None = None, filters: Filters = ALL) -> pa.Table:
    """Open match exceptions at `as_of` by age in calendar days since flagged: bucket (0-7,
    8-30, 31-60, >60), min_days, max_days, exceptions, amount (their invoices' amounts). The
    period filter applies to when they were flagged."""
    return query(con, "kpis.exception_aging", **NAMES, **filters.params(), as_of=as_of)


def blocked_invoices(con, as_of: datetime | None = None, filters: Filters = ALL) -> pa.Table:
    """Invoices blocked at `as_of`, oldest block first: invoice_id, supplier_id, facility,
    department, category, amount, blocked_at, age_days, reason (the block's hold reason, else
    the AP exception reason), holder (whom the exception was routed to), queue (routing rule)."""
    return query(con, "kpis.blocked_list", **NAMES, **filters.params(), as_of=as_of)


def discount_at_risk(con, as_of: datetime | None = None, filters: Filters = ALL) -> pa.Table:
    """Invoices unpaid at `as_of` whose early-payment discount window is still open, soonest
    deadline first: invoice_id, supplier_id, facility, amount, discount_pct, pay_by (last day
    to pay and keep the discount), discount (what is at risk), blocked."""
    return query(con, "kpis.discount_at_risk", **NAMES, **filters.params(), as_of=as_of)


def blocked_summary(con, by: str = "holder", as_of: datetime | None = None,
                    filters: Filters = ALL) -> pa.Table:
    """`blocked_invoices` summed per holder, reason or queue: the group column, invoices,
    amount, oldest_days. Largest amount first."""
    if by not in ("holder", "reason", "queue", "supplier_id", "facility", "department"):
        raise ValueError(f"by={by!r}: choose holder, reason, queue, supplier_id, facility or department")
    blocked = blocked_invoices(con, as_of, filters)
    summary = blocked.group_by(by).aggregate([("invoice_id", "count"), ("amount", "sum"),
                                              ("age_days", "max")])
    summary = summary.rename_columns({"invoice_id_count": "invoices", "amount_sum": "amount",
                                      "age_days_max": "oldest_days"})
    return summary.sort_by([("amount", "descending"), (by, "ascending")])


def invoice_arrivals(con, filters: Filters = ALL) -> pa.Table:
    """Invoices per supplier invoice date: day, invoices, month_end (one of the month's last
    three days) — shows a month-end surge."""
    return query(con, "kpis.invoice_arrivals", **NAMES, **filters.params(), as_of=None)


def reporting_day(con, filters: Filters = ALL) -> date | None:
    """The day point-in-time figures (open exceptions, blocks) are reported as of: the
    filters' last day if set, else the last month-end before the latest invoice arrived — the
    close an AP team reports on. (The store's last event is usually a straggling payment, by
    which time nothing is open.)"""
    if filters.end is not None:
        return filters.end
    days = invoice_arrivals(con, filters).column("day").to_pylist()
    return max(days).replace(day=1) - timedelta(days=1) if days else None


def last_event_day(con) -> date:
    """The day of the last event in the store (timestamp outliers left out)."""
    return query(con, "kpis.now_ts", as_of=None).column(0)[0].as_py().date()


# -- keeping invoice_traceability -----------------------------------------------------------------
def refresh(con, first_batch: str | None = None, last_batch: str | None = None) -> None:
    """Judge again the traceability of the invoice cases the loads with batch ids in
    [first_batch, last_batch] touched (their events, or the spans that carried them); None
    judges every case. Reads the documents refresh's document_touched, so runs before
    models/controls.py `refresh` drops it."""
    scope = "traceability_scope" if first_batch is not None else "traceability_every"
    for block in (scope, "forget_traceability", "derive_traceability", "traceability_done"):
        execute(con, f"kpis.{block}", invoice=v.INVOICE, first=first_batch, last=last_batch)


# -- inputs looked up before the KPI query ---------------------------------------------------------
def _onboarding_steps(con, wanted: list[str]) -> dict:
    """The suppliers' onboarding steps, found by key in event_lookup (not by reading every
    relation), as lists bound into the KPI query."""
    if "supplier_onboarding" not in wanted:
        return {"onboarded_suppliers": [], "created_ats": [], "onboarded_ats": []}
    keys = query(con, "kpis.onboarding_event_keys", **NAMES).column("event_key").to_pylist()
    steps = keyed_table(con, "kpis.onboarding_steps", {"keys": keys}, **NAMES)
    return {"onboarded_suppliers": steps.column("supplier").to_pylist(),
            "created_ats": steps.column("created_at").to_pylist(),
            "onboarded_ats": steps.column("onboarded_at").to_pylist()}


def _known(ids) -> list[str]:
    unknown = [i for i in ids if i not in BY_ID]
    if unknown:
        raise KeyError(f"unknown KPI {', '.join(map(repr, unknown))}; have: {', '.join(BY_ID)}")
    return list(ids)


def _in_registry_order(table: pa.Table, wanted: list[str]) -> pa.Table:
    order = pa.array([wanted.index(k) for k in table.column("kpi").to_pylist()])
    return table.take(pc.sort_indices(order))


def _values(table: pa.Table) -> dict:
    return {r["kpi"]: r["value"] for r in table.to_pylist() if r["group"] is None}
