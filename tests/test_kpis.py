"""KPIs hand-computed on a tiny store, and the simulator's planted truths seen through them."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from conftest import rebuilt
from models import kpis as k
from models import vocabulary as v
from models.filters import Filters
from p2p_fixtures import Hand, order

AS_OF = datetime(2025, 4, 15, 9, 0)       # the store's last event: C's payment


def _invoice(h: Hand, name: str, *, amount, date, terms, due, events, facility="MHS-A", po=None,
             line=None) -> str:
    """INV-<name> with its attributes; `events`: (activity, ts, person or None, attributes)."""
    inv = h.obj(f"INV-{name}", v.INVOICE, supplier_invoice_number=f"N-{name}", amount=amount,
                invoice_date=date, payment_terms=terms, due_date=due)
    objects = [inv, "SUP-1"]
    if po:
        h.link(inv, po, "bills")
    if line:
        il = h.obj(f"INVL-{name}-1", v.INVOICE_LINE, **line)
        h.link(il, inv, "line of")
        h.link(il, "POL-1-10", "bills")
    for i, (activity, ts, person, attrs) in enumerate(events):
        extra = [attrs.pop("exception")] if "exception" in attrs else []
        for e in extra:
            h.obj(e, v.EXCEPTION)
        system = v.ERP if activity == v.RELEASE_PAYMENT else v.AP
        h.event(f"ap:{name}-{i:02}", activity, ts, objects + extra, actor=person or "svc_ap",
                kind=v.PERSON if person else v.SERVICE, facility=facility, system=system, **attrs)
    return inv


@pytest.fixture
def hand(store):
    h = Hand()
    h.obj("SUP-1", v.SUPPLIER)
    h.event("erp:sup-1", v.CREATE_SUPPLIER, "2025-01-01 09:00:00", ["SUP-1"], actor="vera")
    h.event("portal:sup-1", v.COMPLETE_SUPPLIER_ONBOARDING, "2025-01-11 21:00:00", ["SUP-1"],
            actor="sup1.billing", system=v.SUPPLIER_PORTAL)
    order(h, 1, qty=10, price=100, contract=100, created="2025-01-05 09:00:00")
    order(h, 2, qty=5, price=100, created="2025-03-12 09:00:00")       # after C's invoice date
    M, X = {"match_result": "MATCHED"}, {"match_result": "EXCEPTION"}
    # A: touchless, approved in 24 h, paid on day 8 of 2/10 net 30 (discount 20 captured, early)
    _invoice(h, "A", amount=1000, date="2025-03-01", terms="2/10 Net 30", due="2025-03-31", po="PO-1",
             line=dict(quantity=10, unit_price=100, line_amount=1000), events=[
                 (v.RECEIVE_INVOICE, "2025-03-02 09:00:00", None, {}),
                 (v.MATCH_INVOICE, "2025-03-02 09:10:00", None, M),
                 (v.APPROVE_INVOICE, "2025-03-03 09:00:00", "dana", {}),
                 (v.RELEASE_PAYMENT, "2025-03-09 09:00:00", "tom", {})])
    # B: keyed in by a person, price exception resolved by a person, block released; paid on day
    # 25 (discount 40 lost, on time), line above the contract price
    _invoice(h, "B", amount=2000, date="2025-03-01", terms="2/10NT30", due="2025-03-31", po="PO-1",
             line=dict(quantity=10, unit_price=105, line_amount=1050), events=[
                 (v.RECEIVE_INVOICE, "2025-03-02 09:00:00", "wanda", {}),
                 (v.MATCH_INVOICE, "2025-03-02 09:10:00", None, X),
                 (v.FLAG_MATCH_EXCEPTION, "2025-03-02 10:00:00", None, {"exception": "EXC-B"}),
                 (v.BLOCK_INVOICE, "2025-03-02 10:05:00", None, {"hold_reason": "PRICE_VARIANCE"}),
                 (v.RESOLVE_EXCEPTION, "2025-03-05 09:00:00", "carl", {"exception": "EXC-B"}),
                 (v.RELEASE_INVOICE_BLOCK, "2025-03-05 09:30:00", "carl", {}),
                 (v.APPROVE_INVOICE, "2025-03-06 09:00:00", "dana", {}),
                 (v.RELEASE_PAYMENT, "2025-03-26 09:00:00", "tom", {})])
    # C: matched by hand, approved in 12 h, paid 6 days late; its order came after its invoice date
    _invoice(h, "C", amount=500, date="2025-03-10", terms="NT30", due="2025-04-09", po="PO-2", events=[
        (v.RECEIVE_INVOICE, "2025-03-11 09:00:00", None, {}),
        (v.MATCH_INVOICE, "2025-03-11 10:00:00", "mia", M),
        (v.APPROVE_INVOICE, "2025-03-11 21:00:00", "dana", {}),
        (v.RELEASE_PAYMENT, "2025-04-15 09:00:00", "tom", {})])
    # D (another facility): quantity exception open 25 days, blocked, routed to rita
    _invoice(h, "D", amount=3000, date="2025-03-20", terms="Net 45", due="2025-05-04", facility="MHS-B", events=[
        (v.RECEIVE_INVOICE, "2025-03-21 09:00:00", None, {}),
        (v.MATCH_INVOICE, "2025-03-21 09:30:00", None, X),
        (v.FLAG_MATCH_EXCEPTION, "2025-03-21 10:00:00", None, {"exception": "EXC-D"}),
        (v.BLOCK_INVOICE, "2025-03-21 10:05:00", None, {"hold_reason": "QUANTITY_VARIANCE"}),
        (v.ROUTE_EXCEPTION, "2025-03-21 10:10:00", None,
         {"exception": "EXC-D", "routed_to": "rita", "routing_rule": "QUANTITY_TO_RECEIVING"})])
    # E: exception open 64 days
    _invoice(h, "E", amount=700, date="2025-02-08", terms="Net 30", due="2025-03-10", events=[
        (v.RECEIVE_INVOICE, "2025-02-09 09:00:00", None, {}),
        (v.MATCH_INVOICE, "2025-02-09 09:30:00", None, X),
        (v.FLAG_MATCH_EXCEPTION, "2025-02-10 09:00:00", None, {"exception": "EXC-E"})])
    store.ingest([h.batch()], source="hand", kind="state_log")
    return store.cursor()


def _overall(table) -> dict:
    return {r["kpi"]: r for r in table.to_pylist() if r["group"] is None and r["period"] is None}


def test_every_kpi_hand_computed(hand):
    got = {kpi: round(r["value"], 4) if r["value"] is not None else None
           for kpi, r in _overall(k.kpis(hand)).items()}
    assert got == {
        "cycle_time": 22.0,                 # (7 + 24 + 35) / 3 days
        "receipt_to_approval": 44.0,        # (24 + 96 + 12) / 3 hours
        "first_pass_match_rate": 0.4,       # A, C of 5 matched
        "touchless_rate": round(1 / 3, 4),  # A of A, B, C approved
        "manual_touches": round(4 / 3, 4),  # (0 + 3 + 1) / 3: B keyed in, resolved, released
        "exception_rate": 0.6,              # B, D, E of 5
        "open_exceptions": 2.0,             # D, E (B resolved)
        "blocked_invoices": 1.0,            # D (B released)
        "blocked_amount": 3000.0,
        "on_time_payment_rate": round(1 / 3, 4),   # B: 5 days before due
        "late_payment_rate": round(1 / 3, 4),      # C: 6 days after
        "early_payment_rate": round(1 / 3, 4),     # A: 22 days before
        "discount_captured": 20.0,          # A: 2 % of 1000, paid on day 8
        "discount_lost": 40.0,              # B: 2 % of 2000, paid on day 25
        "duplicate_payments": 0.0,
        "after_the_fact_rate": 0.5,         # PO-2 of PO-1, PO-2
        "contract_compliance": 0.5,         # A's line at 100, B's at 105, contract 100
        "supplier_onboarding": 10.5,        # Jan 1 09:00 -> Jan 11 21:00
        "audit_traceability": 0.4,          # D, E stay in AP; A, B, C hop to the ERP untraced
    }


def test_rates_carry_numerator_and_denominator(hand):
    rows = _overall(k.kpis(hand, ids=["exception_rate", "cycle_time"]))
    assert (rows["exception_rate"]["numerator"], rows["exception_rate"]["denominator"],
            rows["exception_rate"]["cases"]) == (3, 5, 5)
    assert (rows["cycle_time"]["numerator"], rows["cycle_time"]["cases"]) == (None, 3)
    assert set(rows) == {"exception_rate", "cycle_time"}


def test_exception_aging_buckets_count_and_amount(hand):
    aging = k.exception_aging(hand).to_pylist()
    assert [(r["bucket"], r["exceptions"], r["amount"]) for r in aging] == [
        ("0-7", 0, 0), ("8-30", 1, 3000.0), ("31-60", 0, 0), (">60", 1, 700.0)]
    earlier = k.exception_aging(hand, as_of=datetime(2025, 3, 4, 12, 0)).to_pylist()
    # on March 4: B (2 days) and E (22 days) open, D not yet flagged
    assert [(r["bucket"], r["exceptions"], r["amount"]) for r in earlier] == [
        ("0-7", 1, 2000.0), ("8-30", 1, 700.0), ("31-60", 0, 0), (">60", 0, 0)]


def test_blocked_invoices_listed_with_reason_holder_and_age(hand):
    rows = k.blocked_invoices(hand).to_pylist()
    assert [(r["invoice_id"], r["amount"], r["reason"], r["holder"], r["queue"], r["facility"])
            for r in rows] == [("INV-D", 3000.0, "QUANTITY_VARIANCE", "rita", "QUANTITY_TO_RECEIVING", "MHS-B")]
    assert rows[0]["age_days"] == pytest.approx((AS_OF - datetime(2025, 3, 21, 10, 5)).total_seconds() / 86400)
    # while B's block was on
    during = k.blocked_invoices(hand, as_of=datetime(2025, 3, 3)).column("invoice_id").to_pylist()
    assert during == ["INV-B"]


def test_discount_at_risk_is_what_unpaid_invoices_in_their_window_would_save(hand):
    def at_risk(when):
        return {r["invoice_id"]: (r["discount"], r["pay_by"].isoformat())
                for r in k.discount_at_risk(hand, as_of=when).to_pylist()}

    # A (2 % of 1000) and B (2 % of 2000), both dated 1 March on 2/10 terms: window to 11 March
    assert at_risk(datetime(2025, 3, 5, 12)) == {"INV-A": (20.0, "2025-03-11"), "INV-B": (40.0, "2025-03-11")}
    assert at_risk(datetime(2025, 3, 10, 12)) == {"INV-B": (40.0, "2025-03-11")}   # A paid on the 9th
    assert at_risk(datetime(2025, 3, 12, 12)) == {}                               # the window closed


def test_facility_filter_and_grouping(hand):
    only_b = _overall(k.kpis(hand, filters=Filters(facilities=("MHS-B",))))
    assert (only_b["exception_rate"]["value"], only_b["first_pass_match_rate"]["value"],
            only_b["blocked_amount"]["value"], only_b["open_exceptions"]["value"]) == (1.0, 0.0, 3000.0, 1.0)
    assert only_b["supplier_onboarding"]["value"] == 10.5      # no facility at its grain
    by = {(r["kpi"], r["group"]): r["value"] for r in k.kpis(hand, by="facility").to_pylist()}
    assert (by[("exception_rate", "MHS-A")], by[("exception_rate", "MHS-B")]) == (0.5, 1.0)
    assert not any(kpi == "supplier_onboarding" for kpi, _ in by)


def test_trend_by_month_and_period_filter(hand):
    trend = k.trend(hand, "exception_rate", "month").to_pylist()
    assert [(r["period"], r["value"]) for r in trend] == [(date(2025, 2, 1), 1.0), (date(2025, 3, 1), 0.5)]
    march = _overall(k.kpis(hand, filters=Filters(start=date(2025, 3, 1), end=date(2025, 3, 31))))
    assert march["cycle_time"]["value"] == 15.5     # A and B paid in March, C in April


def test_period_over_period_says_whether_the_change_is_good(hand):
    rows = {r["kpi"]: r for r in k.period_over_period(
        hand, Filters(start=date(2025, 3, 1), end=date(2025, 3, 31))).to_pylist()}
    ex = rows["exception_rate"]
    assert (ex["value"], ex["previous"], ex["previous_start"], ex["previous_end"]) == (
        0.5, 1.0, date(2025, 1, 29), date(2025, 2, 28))
    assert ex["change"] == -0.5 and ex["improved"] is True       # fewer exceptions: good
    assert rows["cycle_time"]["previous"] is None and rows["cycle_time"]["improved"] is None


def test_definitions_cover_the_registry_and_the_sql():
    from models.queries import _blocks

    defs = k.definitions()
    blocks = _blocks("kpis")
    assert [d["id"] for d in defs] == [x.id for x in k.REGISTRY]
    for d in defs:
        assert d["unit"] in ("days", "hours", "%", "count", "money", "per invoice")
        assert d["good"] in ("up", "down") and d["agg"] in k.AGGREGATIONS and d["formula"]
        assert d["id"] in blocks    # models/kpis.py unions the blocks of the KPIs asked for


def test_unknown_kpi_or_grouping_named_with_the_valid_ones(hand):
    with pytest.raises(KeyError, match="cycle_time"):
        k.kpi(hand, "cycle_tme")
    with pytest.raises(ValueError, match="facility"):
        k.kpis(hand, by="region")


# -- planted truths of a simulated network --------------------------------------------------------
def test_after_the_fact_rate_highest_in_the_planted_department(simulated):
    con, truths = simulated
    atf = truths["after_the_fact_orders"]
    rows = k.kpi(con, "after_the_fact_rate", by="department").to_pylist()
    worst = max(rows, key=lambda r: r["value"])
    assert worst["group"] == atf["department"]
    others = [r["value"] for r in rows if r["group"] != atf["department"]]
    assert worst["value"] > 3 * max(others)


def test_month_end_surge_in_invoice_arrivals(simulated):
    con, _ = simulated
    days = k.invoice_arrivals(con).to_pylist()
    month_end = [d["invoices"] for d in days if d["month_end"]]
    other = [d["invoices"] for d in days if not d["month_end"]]
    assert sum(month_end) / len(month_end) > 2 * sum(other) / len(other)


def test_duplicate_payment_incidents_equal_the_paid_pairs(simulated):
    con, truths = simulated
    paid = sum(p["paid"] for p in truths["duplicate_invoices"]["pairs"])
    assert paid > 0
    assert _overall(k.kpi(con, "duplicate_payments"))["duplicate_payments"]["value"] == paid


def test_facility_filter_changes_values(simulated):
    con, _ = simulated
    overall = _overall(k.kpis(con))
    facility = k.kpi(con, "cycle_time", by="facility").column("group")[0].as_py()
    narrowed = _overall(k.kpis(con, filters=Filters(facilities=(facility,))))
    assert narrowed["cycle_time"]["cases"] < overall["cycle_time"]["cases"]
    assert narrowed["cycle_time"]["value"] != overall["cycle_time"]["value"]
    assert narrowed["supplier_onboarding"] == overall["supplier_onboarding"]


def test_scorecard_equals_the_headline_and_the_kpis_by_group(simulated):
    con, _ = simulated
    facility = k.kpi(con, "cycle_time", by="facility").column("group")[0].as_py()
    for filters in (Filters(), Filters(facilities=(facility,))):
        headline = k.headline(con, filters=filters)
        assert any(t["series"] for t in headline)
        for by in k.GROUPS:
            tiles, table = k.scorecard(con, by, filters=filters)
            assert tiles == headline
            assert table.to_pylist() == k.kpis(con, by, filters=filters, ids=k.HEADLINE).to_pylist()


def test_traceability_kept_load_by_load_equals_a_rebuild(network):
    store, manifest = network
    con = store.cursor()
    read = "SELECT * FROM invoice_traceability ORDER BY invoice_id"
    kept = con.sql(read).fetchall()
    assert len(kept) == manifest["counts"]["invoices"]
    assert rebuilt(con, lambda c: c.sql(read).fetchall(), k.refresh, "invoice_traceability") == kept
