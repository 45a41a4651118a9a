"""The control findings kept at load are what the controls find run in full, and what judging
everything afresh gives; counts and a case's findings read them."""

from conftest import rebuilt
from models import audit, controls


def test_findings_kept_load_by_load_equal_a_rebuild_and_the_controls(network):
    store, _ = network
    con = store.cursor()
    kept = controls.findings(con).to_pylist()
    assert controls.counts(con) == {title: control(con).num_rows for title, control in controls.CONTROLS.values()}
    assert all(n > 0 for n in controls.counts(con).values())
    assert rebuilt(con, lambda c: controls.findings(c).to_pylist(), controls.rebuild, "control_findings") == kept


def test_a_case_trips_the_findings_that_name_its_documents(network):
    store, _ = network
    con = store.cursor()
    finding = audit.four_eyes(con).to_pylist()[0]
    tripped = controls.tripped_by(con, [finding["po_id"]])
    assert {"control": "Four-eyes violation", "invoice_id": finding["invoice_id"], "person": finding["person"],
            "amount": finding["amount"], "reason": finding["reason"]} in tripped
    pair = audit.duplicate_invoices(con).to_pylist()[0]
    assert [t["invoice_id"] for t in controls.tripped_by(con, [pair["original_invoice_id"]])
            if t["control"] == "Duplicate invoice"] == [pair["invoice_id"]]
    assert controls.tripped_by(con, ["no-such-document"]) == []
