"""Pages through streamlit.testing: they render without exception and show what models/ returns."""

import pytest
from streamlit.testing.v1 import AppTest

from app import data
from conftest import ROOT
from models import health

DASHBOARD = str(ROOT / "app" / "dashboard.py")


@pytest.fixture
def loaded_store(network):
    return network[0]


@pytest.fixture
def dashboard(loaded_store):
    """The app over the loaded store, run once."""
    data.use_store(loaded_store)
    return AppTest.from_file(DASHBOARD, default_timeout=60).run()


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_data_health_shows_the_stores_counts(loaded_store, dashboard):
    at = dashboard.switch_page("dashboards/data_health.py").run()
    assert not at.exception
    counts = health.counts(loaded_store.cursor())
    assert _metrics(at) == {
        "Business events": f"{counts['events']:,}",
        "Business objects": f"{counts['objects']:,}",
        "Integration spans": f"{counts['spans']:,}",
        "Rejected records": f"{counts['dead_letters']:,}",
    }
    facilities = {row["facility"] for row in health.events_by_facility_system(loaded_store.cursor()).to_pylist()}
    shown = set(at.dataframe[0].value["facility"])
    assert shown == facilities and "MHS-CHI" in shown


def test_an_empty_store_explains_itself(tmp_path):
    from models.store import open_store

    empty = open_store(tmp_path / "empty.duckdb")
    data.use_store(empty)
    try:
        at = AppTest.from_file(DASHBOARD, default_timeout=60).run()
        assert not at.exception
        assert "No invoices in this selection yet" in at.info[0].value
        at.switch_page("dashboards/data_health.py").run()
        assert "The store is empty" in at.info[0].value
    finally:
        empty.close()


def test_a_facility_filter_narrows_the_page_and_lands_in_the_url(loaded_store, dashboard):
    at = dashboard.switch_page("dashboards/data_health.py").run()
    facility = [m for m in at.sidebar.multiselect if m.label == "Facility"][0]
    facility.set_value(["MHS-DEN"]).run()
    assert not at.exception
    assert set(at.dataframe[0].value["facility"]) == {"MHS-DEN"}
    assert at.query_params["facility"] in ("MHS-DEN", ["MHS-DEN"])   # AppTest shows a lone value bare
    from models.filters import Filters
    expected = health.events_by_facility_system(loaded_store.cursor(), Filters(facilities=("MHS-DEN",)))
    assert list(at.dataframe[0].value["events"]) == expected.column("events").to_pylist()


def test_filters_round_trip_through_the_url():
    from datetime import date

    from app.filters import from_query, to_query
    from models.filters import Filters

    chosen = Filters(start=date(2025, 7, 1), end=date(2025, 7, 31), facilities=("MHS-CHI", "MHS-NYC"),
                     suppliers=("SUP-100191",), departments=("LAB",))
    assert to_query(chosen) == {"facility": ["MHS-CHI", "MHS-NYC"], "supplier": ["SUP-100191"],
                                "department": ["LAB"], "from": ["2025-07-01"], "to": ["2025-07-31"]}
    assert from_query(to_query(chosen)) == chosen
    assert from_query({"from": ["not a date"]}) == Filters()


def test_viewer_scope_narrows_whatever_was_chosen():
    from models.filters import Filters

    assert Filters().within(["MHS-CHI"]).facilities == ("MHS-CHI",)
    assert Filters(facilities=("MHS-NYC",)).within(["MHS-CHI"]).facilities == ("(none)",)
    assert Filters(facilities=("MHS-NYC",)).within(None).facilities == ("MHS-NYC",)


def test_recording_lists_what_a_page_asked_for_and_replays_it_uncached(loaded_store, dashboard):
    from models import kpis
    from models.filters import Filters

    with data.recording() as calls:
        dashboard.switch_page("dashboards/invoices.py").run()
    asked = {fn for fn, _, _ in calls}
    assert {kpis.invoice_arrivals, kpis.blocked_invoices, kpis.exception_aging} <= asked
    fn, args, keywords = next(c for c in calls if c[0] is kpis.blocked_invoices)
    assert keywords == {"filters": Filters()}
    assert data.call(fn, args, keywords) == kpis.blocked_invoices(loaded_store.cursor(), *args)


def test_sync_lag_page_shows_the_models_figures_and_follows_the_filters(loaded_store, dashboard):
    from models import sync_lag
    from models.filters import Filters

    at = dashboard.switch_page("dashboards/sync_lag.py").run()
    assert not at.exception
    pairs = sync_lag.by_system_pair(loaded_store.cursor())
    assert _metrics(at)["Events carried"] == f"{sum(pairs.column('events').to_pylist()):,}"

    [m for m in at.sidebar.multiselect if m.label == "Facility"][0].set_value(["MHS-PHX"]).run()
    assert not at.exception
    narrowed = sync_lag.by_system_pair(loaded_store.cursor(), filters=Filters(facilities=("MHS-PHX",)))
    assert _metrics(at)["Events carried"] == f"{sum(narrowed.column('events').to_pylist()):,}"
    assert sum(narrowed.column("events").to_pylist()) < sum(pairs.column("events").to_pylist())


def test_case_explorer_finds_a_po_by_its_erp_number_and_shows_its_trail(loaded_store, dashboard):
    from models import audit

    at = dashboard.switch_page("dashboards/cases.py").run()
    assert not at.exception
    assert "Type a document number" in at.info[0].value
    po = loaded_store.cursor().sql(
        "SELECT object_id FROM object WHERE object_type = 'purchase_order' ORDER BY object_id LIMIT 1"
    ).fetchall()[0][0]
    at.text_input[0].set_value(po.removeprefix("PO-")).run()   # as the ERP writes it
    assert not at.exception
    assert at.header[0].value == f"purchase order {po}"
    assert _metrics(at)["Events in the trail"] == f"{audit.case_trail(loaded_store.cursor(), po).num_rows:,}"
    assert at.query_params["case"] in (po, [po])


def test_process_page_shows_the_cases_and_variants_models_find(loaded_store, dashboard):
    from models import mining
    from models.filters import Filters

    at = dashboard.switch_page("dashboards/process.py").run()
    assert not at.exception
    cases = {t["object_type"]: t["cases"] for t in mining.object_types(loaded_store.cursor()).to_pylist()}
    assert at.selectbox[0].value == "invoice"
    assert at.selectbox[0].format_func("invoice") == f"invoice ({cases['invoice']:,} cases)"
    variants = mining.variants(loaded_store.cursor(), "invoice")
    assert list(at.dataframe[0].value["cases"]) == variants.column("cases").to_pylist()[:200]
    from models import conformance
    checked = conformance.check(loaded_store.cursor(), "invoice")
    assert _metrics(at)["Log fitness"] == f"{checked['log_fitness']:.4f}"

    [m for m in at.sidebar.multiselect if m.label == "Facility"][0].set_value(["MHS-LAX"]).run()
    narrowed = mining.variants(loaded_store.cursor(), "invoice", filters=Filters(facilities=("MHS-LAX",)))
    assert list(at.dataframe[0].value["cases"]) == narrowed.column("cases").to_pylist()[:200]
    assert sum(narrowed.column("cases").to_pylist()) < cases["invoice"]


def test_overview_tiles_are_the_kpi_headline_and_follow_the_filters(loaded_store, dashboard):
    from app import formats
    from models import kpis
    from models.filters import Filters

    at = dashboard
    assert not at.exception
    headline = kpis.headline(loaded_store.cursor())
    shown = _metrics(at)
    deltas = {m.label: m.delta for m in at.metric}
    for tile in headline:
        assert shown[tile["name"]] == formats.kpi_value(tile["value"], tile["unit"])
        assert deltas[tile["name"]] == formats.kpi_change(tile["change"], tile["unit"])

    [m for m in at.sidebar.multiselect if m.label == "Facility"][0].set_value(["MHS-NYC"]).run()
    narrowed = kpis.headline(loaded_store.cursor(), filters=Filters(facilities=("MHS-NYC",)))
    cycle = [t for t in narrowed if t["kpi"] == "cycle_time"][0]
    assert _metrics(at)["Invoice cycle time"] == formats.kpi_value(cycle["value"], cycle["unit"])


def test_overview_compares_kpis_by_the_dimension_chosen(loaded_store, dashboard):
    from app import formats
    from models import kpis

    at = dashboard
    by_facility = kpis.kpis(loaded_store.cursor(), "facility", ids=kpis.HEADLINE)
    assert at.dataframe[0].value.to_dict("records") == formats.kpi_table(by_facility, kpis.HEADLINE)
    at.radio[0].set_value("department").run()
    assert not at.exception
    by_department = formats.kpi_table(kpis.kpis(loaded_store.cursor(), "department", ids=kpis.HEADLINE),
                                      kpis.HEADLINE)
    assert at.dataframe[0].value.to_dict("records") == by_department != formats.kpi_table(by_facility, kpis.HEADLINE)


def test_a_change_that_rounds_to_nothing_reads_as_unchanged():
    from app.formats import kpi_change, unchanged

    assert unchanged(kpi_change(0.00004, "%")) and unchanged(kpi_change(-0.2, "money"))
    assert not unchanged(kpi_change(-0.001, "%")) and not unchanged(kpi_change(1567.0, "money"))
    assert not unchanged(None)


def test_invoices_page_reports_blocks_and_aging_as_of_the_close(loaded_store, dashboard):
    from datetime import datetime, time

    from models import kpis

    at = dashboard.switch_page("dashboards/invoices.py").run()
    assert not at.exception
    day = kpis.reporting_day(loaded_store.cursor())
    assert at.date_input[0].value == day
    as_of = datetime.combine(day, time.max)
    blocked = kpis.blocked_invoices(loaded_store.cursor(), as_of)
    aging = kpis.exception_aging(loaded_store.cursor(), as_of)
    assert _metrics(at)["Blocked invoices"] == f"{blocked.num_rows:,}"
    assert _metrics(at)["Open exceptions"] == f"{sum(aging.column('exceptions').to_pylist()):,}"
    from app import formats
    discounts = kpis.discount_at_risk(loaded_store.cursor(), as_of)
    assert _metrics(at)["Cash discount at risk"] == formats.money(sum(discounts.column("discount").to_pylist()))

    at.date_input[0].set_value(day.replace(year=day.year - 10)).run()   # before the first invoice
    assert _metrics(at)["Open exceptions"] == "0" and not at.exception
    assert {"No match exception was open at that moment.", "Nothing was blocked at that moment."} <= \
           {s.value for s in at.success}


def test_a_category_filter_narrows_the_kpis_to_that_spend(loaded_store, dashboard):
    from app import formats
    from models import kpis
    from models.filters import Filters

    at = dashboard
    category = [m for m in at.sidebar.multiselect if m.label == "Category"][0]
    assert "51" in category.options or any(o.startswith("51") for o in category.options)
    category.set_value(["51"]).run()
    assert not at.exception
    assert at.query_params["category"] in ("51", ["51"])
    pharma = kpis.headline(loaded_store.cursor(), filters=Filters(categories=("51",)))
    everything = kpis.headline(loaded_store.cursor())
    first_pass = [t for t in pharma if t["kpi"] == "first_pass_match_rate"][0]
    assert _metrics(at)["First-pass match rate"] == formats.kpi_value(first_pass["value"], first_pass["unit"])
    assert [t["series"] for t in pharma] != [t["series"] for t in everything]


def test_case_explorer_shows_the_controls_a_case_trips(loaded_store, dashboard):
    from models import audit

    violations = audit.four_eyes(loaded_store.cursor()).to_pylist()
    assert violations, "the simulated network plants a four-eyes violation"
    invoice = violations[0]["invoice_id"]
    at = dashboard.switch_page("dashboards/cases.py").run()
    at.text_input[0].set_value(invoice).run()
    assert not at.exception
    tripped = at.dataframe[-1].value
    assert "Four-eyes violation" in list(tripped["control"])
    assert invoice in list(tripped["invoice_id"])


def test_data_health_replays_rejected_records_through_a_corrected_mapping(tmp_path):
    from app.ingest import ingest
    from models.store import open_store
    from test_dead_letters import ERP, MIXED, corrected

    store = open_store(tmp_path / "p2p.duckdb")
    try:
        ingest(store, [MIXED], ERP)
        rejected = health.counts(store.cursor())["dead_letters"]
        events = health.counts(store.cursor())["events"]
        assert rejected > 0
        data.use_store(store)
        at = AppTest.from_file(DASHBOARD, default_timeout=60).run()
        at.switch_page("dashboards/data_health.py").run()
        at.text_input[0].set_value(str(corrected(tmp_path, ERP, "timestamp_format")))
        at.form_submit_button[0].click().run()
        assert not at.exception
        assert [e.value for e in at.error] == []
        assert at.success[0].value.startswith(f"Accepted {rejected:,} of {rejected:,} records")
        assert health.counts(store.cursor())["events"] == events + rejected
    finally:
        store.close()
