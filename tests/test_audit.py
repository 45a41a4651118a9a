"""Audit controls: hand-computed findings on a tiny store, and every planted truth of a simulated
network found (exact id sets where the manifest lists them)."""

import pytest

from models import audit, cases
from models import vocabulary as v
from conftest import rebuilt
from p2p_fixtures import Hand, invoice, order, receipt


@pytest.fixture
def hand(store):
    h = Hand()
    receipt(h, 1, "2025-01-10 08:00:00", 10)
    invoice(h, "A", po_line=order(h, 1, qty=10, price=5.0, buyer="alice"), qty=10, price=5.0,
            approver="alice")                                          # four eyes
    invoice(h, "B", po_line=order(h, 2, qty=1, price=9.0, buyer="carol"), qty=1, price=9.0)
    # after the fact: invoiced 2025-01-20, ordered 2025-02-10; bill-only the same way is fine
    invoice(h, "C", po_line=order(h, 3, qty=1, price=8.0, created="2025-02-10 09:00:00"), qty=1, price=8.0,
            received="2025-01-25 10:00:00")
    invoice(h, "D", po_line=order(h, 4, qty=1, price=800.0, flow="bill_only", created="2025-02-10 09:00:00"),
            qty=1, price=800.0, received="2025-01-25 10:00:00")
    # duplicates: one pair; same number other supplier, other number same supplier, too far apart
    invoice(h, "G", number="INV-00123", amount=250.0, date="2025-03-01")
    invoice(h, "H", number="inv123", amount=250.0, date="2025-03-03")
    invoice(h, "I", number="INV-00124", amount=250.0, date="2025-03-02")
    invoice(h, "J", number="inv123", amount=250.0, date="2025-03-02", supplier="SUP-2")
    invoice(h, "K", number="IN0123", amount=250.0, date="2025-06-01")
    # bank details of SUP-2 changed 3 days before a payment; another payment 19 days after
    h.obj("SUP-2", v.SUPPLIER)
    h.event("erp:bank-2", v.CHANGE_SUPPLIER_BANK_DETAILS, "2025-04-01 10:00:00", ["SUP-2"], actor="vera",
            bank_account_old="ACCT-1", bank_account_new="ACCT-2")
    for pay, ts, amount in (("PAY-1", "2025-04-04 10:00:00", 20000.0), ("PAY-2", "2025-04-20 10:00:00", 30000.0),
                            ("PAY-3", "2025-04-05 10:00:00", 500.0)):
        h.obj(pay, v.PAYMENT, amount=amount)
        h.event(f"erp:{pay}", v.RELEASE_PAYMENT, ts, [pay, "SUP-2", "INV-J"], actor="tom")
    store.ingest([h.batch()], source="hand", kind="state_log")
    return store.cursor()


def test_four_eyes_finds_the_creator_who_approved(hand):
    found = audit.four_eyes(hand).to_pylist()
    assert [(r["person"], r["invoice_id"], r["po_id"], r["amount"]) for r in found] == [
        ("alice", "INV-A", "PO-1", 50.0)]
    assert "created PO-1" in found[0]["reason"]


def test_po_after_invoice_leaves_bill_only_out(hand):
    found = audit.po_after_invoice(hand).to_pylist()
    assert [(r["po_id"], r["invoice_id"], r["days_after_invoice_date"]) for r in found] == [("PO-3", "INV-C", 21)]


def test_duplicate_numbers_equal_after_normalisation(hand):
    found = audit.duplicate_invoices(hand).to_pylist()
    assert [(r["original_invoice_id"], r["invoice_id"]) for r in found] == [("INV-G", "INV-H")]
    wide = audit.duplicate_invoices(hand, window_days=120).to_pylist()
    assert {(r["original_invoice_id"], r["invoice_id"]) for r in wide} == {
        ("INV-G", "INV-H"), ("INV-G", "INV-K"), ("INV-H", "INV-K")}


def test_bank_change_three_days_before_payment(hand):
    found = audit.bank_change_before_payment(hand, days=14, min_amount=1000).to_pylist()
    assert [(r["payment_id"], r["supplier_id"], r["hours_between"], r["amount"], r["person"]) for r in found] == [
        ("PAY-1", "SUP-2", 72.0, 20000.0, "vera")]


def test_case_trail_in_order_with_related_objects(hand):
    trail = audit.case_trail(hand, "PO-3").to_pylist()
    assert [r["event_id"] for r in trail] == [
        "ap:C-01", "ap:C-02", "ap:C-08", "erp:create-3"]   # INV-C's events come through the O2O link
    assert trail[-1]["objects"] == ["PO-3", "POL-3-10", "REQ-3"]   # SUP-1: master data



def test_trail_of_master_data_holds_the_events_that_name_it(hand):
    trail = audit.case_trail(hand, "SUP-2").to_pylist()     # a supplier: no case of its own
    own = [r["event_id"] for r in trail if "SUP-2" in (r["objects"] or [])]
    assert {"erp:bank-2", "erp:PAY-1", "erp:PAY-2", "erp:PAY-3", "ap:J-01"} <= set(own)

# -- found, not assumed: the simulator's planted truths ----------------------------------------

def test_four_eyes_person_found_with_the_listed_invoices(simulated):
    con, truths = simulated
    planted = truths["four_eyes_violation"]
    found = audit.four_eyes(con).to_pylist()
    assert {r["person"] for r in found} == {planted["person"]}
    assert {r["invoice_id"] for r in found} == set(planted["invoices_approved_on_own_orders"]["ids"])
    assert {r["po_id"] for r in found} == set(planted["purchase_orders"]["ids"])


def test_after_the_fact_orders_found_and_concentrated_in_the_department(simulated):
    con, truths = simulated
    planted = truths["after_the_fact_orders"]
    found = audit.po_after_invoice(con).to_pylist()
    assert {r["po_id"] for r in found} == set(planted["purchase_orders"]["ids"])
    in_dept = [r for r in found if (r["facility"], r["department"]) == (planted["facility"], planted["department"])]
    assert len(in_dept) == planted["in_department"]
    assert len(in_dept) > 0.6 * len(found)


def test_every_duplicate_pair_found_with_few_false_positives(simulated):
    con, truths = simulated
    planted = {(p["original"], p["duplicate"]) for p in truths["duplicate_invoices"]["pairs"]}
    found = {(r["original_invoice_id"], r["invoice_id"]) for r in audit.duplicate_invoices(con).to_pylist()}
    assert planted <= found
    precision = len(planted & found) / len(found)
    print(f"duplicate invoices: {len(found)} found, {len(planted)} planted, precision {precision:.2f}")
    assert precision >= 0.9


def test_bank_change_before_the_large_payment_found(simulated):
    con, truths = simulated
    planted = truths["bank_change_before_payment"]
    top = audit.bank_change_before_payment(con).to_pylist()[0]
    assert (top["supplier_id"], top["payment_id"], top["invoice_id"]) == (
        planted["supplier_id"], planted["payment_id"], planted["invoice_id"])
    assert top["hours_between"] == pytest.approx(planted["hours_between"], abs=0.1)
    assert top["amount"] == pytest.approx(planted["amount"])


def test_case_trail_of_a_simulated_order_carries_its_spans(simulated):
    con, truths = simulated
    po = truths["four_eyes_violation"]["purchase_orders"]["ids"][0]
    trail = audit.case_trail(con, po).to_pylist()
    activities = [r["activity"] for r in trail]
    assert activities.index(v.CREATE_PURCHASE_ORDER) < activities.index(v.APPROVE_INVOICE)
    assert [(r["ts"], r["source_order"] or 0) for r in trail] == sorted((r["ts"], r["source_order"] or 0) for r in trail)
    carried = [r for r in trail if r["spans"]]
    assert carried and all(r["services"] for r in carried)
    assert any(r["activity"] == v.APPROVE_PURCHASE_ORDER and r["spans"] for r in trail)


def test_find_a_case_by_part_of_its_id_or_by_a_person(hand):
    by_id = cases.find(hand, "po-3").to_pylist()
    assert [(r["object_id"], r["object_type"], r["matched_on"]) for r in by_id] == [("PO-3", v.PURCHASE_ORDER, "id")]
    trail = audit.case_trail(hand, "PO-3").to_pylist()
    po_events = [r for r in trail if "PO-3" in (r["objects"] or [])]
    assert (by_id[0]["events"], by_id[0]["first_event"], by_id[0]["last_event"]) == (
        len(po_events), po_events[0]["ts"], po_events[-1]["ts"])
    by_person = cases.find(hand, "ALICE").to_pylist()     # user names match in any case
    assert {r["matched_on"] for r in by_person} == {"person alice"}
    assert {"INV-A", "PO-1"} <= {r["object_id"] for r in by_person}
    assert cases.find(hand, "nobody-by-that-name").num_rows == 0


def test_a_case_id_typed_whole_lists_that_case_alone_and_a_part_every_id_containing_it(store, hand):
    more = Hand()
    order(more, 12, qty=1, price=3.0)      # PO-12 contains "PO-1"
    store.ingest([more.batch()], source="more", kind="state_log")
    assert [r["object_id"] for r in cases.find(hand, "po-1").to_pylist()] == ["PO-1"]
    assert [r["object_id"] for r in cases.find(hand, "O-1").to_pylist()] == ["PO-1", "PO-12"]
    whole, = cases.find(hand, "PO-12").to_pylist()          # by key
    part, = cases.find(hand, "O-12").to_pylist()            # by reading every id
    assert whole == part
    assert [r["object_id"] for r in cases.find(hand, "sup-2", types=None).to_pylist()] == ["SUP-2"]  # no case


def test_case_lookup_kept_load_by_load_equals_a_rebuild_and_the_case_variants(network):
    store, _ = network
    con = store.cursor()

    def read(c):
        return c.sql("SELECT * FROM case_lookup ORDER BY case_id").fetchall()
    kept = read(con)
    assert kept and rebuilt(con, read, cases.rebuild, "case_lookup") == kept
    variants = con.sql("SELECT case_id, object_type, events, start_ts, end_ts FROM case_variant ORDER BY case_id")
    assert [r[1:6] for r in kept] == variants.fetchall()
