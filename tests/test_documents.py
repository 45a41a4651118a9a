"""The documents kept at load (po_lines, receipts, invoices, invoice_lines) are what deriving
them afresh from the whole store gives."""

from models import documents


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
