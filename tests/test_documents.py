"""The documents kept at load (po_lines, receipts, invoices, invoice_lines) are what deriving
them afresh from the whole store gives."""

from models import documents, vocabulary as v
from models.store import open_store
from p2p_fixtures import Hand, invoice, order, receipt


def _rows(con) -> dict:
    return {name: getattr(documents, name)(con).to_pylist() for name in documents.DERIVED}


def test_documents_kept_load_by_load_equal_a_rebuild(network):
    store, manifest = network
    con = store.cursor()
    kept = _rows(con)
    assert len(kept["invoices"]) == manifest["counts"]["invoices"]
    assert len({r["po_id"] for r in kept["po_lines"]}) == manifest["counts"]["purchase_orders"]
    con.begin()
    try:     # the shared store is read-only for tests: rebuild, compare, roll back
        documents.rebuild(con)
        assert _rows(con) == kept
    finally:
        con.rollback()


def _two_orders_then_changes():
    """Load A: two orders of one supplier, each invoiced. Load B, later: the first order's
    requisition moves to another department (an attribute change alone, no event), the second
    order's line gets a lower contract price and the order is received."""
    a = Hand()
    first = order(a, 1, qty=10, price=5.0, contract=5.0, department="LAB")
    second = order(a, 2, qty=4, price=20.0, department="ICU")
    invoice(a, "a", po_line=first, qty=10, price=5.0)
    invoice(a, "b", po_line=second, qty=4, price=20.0)
    b = Hand()
    b.obj("REQ-1", v.REQUISITION)
    b.change("REQ-1", "2025-01-06 08:00:00", "department", "SURGERY")
    b.obj(second, v.PO_LINE)
    b.change(second, "2025-01-06 08:00:00", "contract_price", 15.0)
    receipt(b, 2, "2025-01-10 09:00:00", 4)
    return a, b


def test_a_later_load_re_derives_the_lines_and_invoices_that_read_what_it_changed(tmp_path):
    a, b = _two_orders_then_changes()
    apart, together = open_store(tmp_path / "apart.duckdb"), open_store(tmp_path / "together.duckdb")
    try:
        apart.ingest([a.batch()], source="a", kind="state_log")
        apart.ingest([b.batch()], source="b", kind="state_log")
        together.ingest([a.batch(), b.batch()], source="a+b", kind="state_log")
        kept = _rows(apart.cursor())
        assert kept == _rows(together.cursor())

        lines = {r["po_line_id"]: r for r in kept["po_lines"]}
        assert lines["POL-1-10"]["department"] == "SURGERY"
        assert (lines["POL-2-10"]["department"], lines["POL-2-10"]["contract_price"]) == ("ICU", 15.0)
        invoices = {r["invoice_id"]: r for r in kept["invoices"]}
        assert (invoices["INV-a"]["department"], invoices["INV-a"]["compliant_lines"]) == ("SURGERY", 1)
        assert (invoices["INV-b"]["contract_lines"], invoices["INV-b"]["compliant_lines"]) == (1, 0)  # 20.00 over 15.00
        assert {r["po_line_id"]: r["received_quantity"] for r in kept["receipts"]} == {"POL-1-10": 0, "POL-2-10": 4}
    finally:
        apart.close()
        together.close()
