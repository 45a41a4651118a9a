"""The global filter bar: period, facility, supplier, category (UNSPSC segment), department.

The URL is the state: every choice is written to the query string, so a view can be shared as
a link, and a link opens with its filters set. Session state carries the choice across pages,
whose navigation starts from a bare URL.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from app import data
from models import dimensions
from models.filters import Filters

LISTS = {"facilities": "facility", "suppliers": "supplier", "categories": "category",
         "departments": "department"}


def from_query(query: dict[str, list[str]]) -> Filters:
    """Filters from query-string values (each key to its list of values)."""
    def day(key):
        try:
            return date.fromisoformat(query.get(key, [""])[0])
        except ValueError:
            return None

    return Filters(start=day("from"), end=day("to"),
                   **{field: tuple(query.get(key, [])) for field, key in LISTS.items()})


def to_query(filters: Filters) -> dict[str, list[str]]:
    query = {key: list(getattr(filters, field)) for field, key in LISTS.items() if getattr(filters, field)}
    if filters.start:
        query["from"] = [filters.start.isoformat()]
    if filters.end:
        query["to"] = [filters.end.isoformat()]
    return query


def filter_bar() -> Filters:
    """Draw the filters in the sidebar; return the viewer's choice within their scope."""
    if "filters" not in st.session_state:
        st.session_state.filters = from_query({k: st.query_params.get_all(k) for k in st.query_params})
    chosen: Filters = st.session_state.filters
    first, last = data.load(dimensions.period)
    suppliers = data.load(dimensions.suppliers)

    bar = st.sidebar
    bar.header("Filters")
    period = bar.date_input("Period", value=(chosen.start or first, chosen.end or last),
                            min_value=first, max_value=last, format="YYYY-MM-DD") if first else ()
    scope = data.viewer_scope()
    visible = [f for f in data.load(dimensions.facilities) if scope is None or f in scope]
    facilities = bar.multiselect("Facility", visible, default=_known(chosen.facilities, visible),
                                 placeholder="All facilities")
    supplier_ids = bar.multiselect("Supplier", list(suppliers), format_func=lambda s: suppliers.get(s, s),
                                   default=_known(chosen.suppliers, suppliers), placeholder="All suppliers")
    categories = data.load(dimensions.categories)
    category_ids = bar.multiselect("Category", list(categories), placeholder="All categories",
                                   format_func=lambda c: f"{c} {categories.get(c, '')}",
                                   default=_known(chosen.categories, categories))
    departments = bar.multiselect("Department", data.load(dimensions.departments),
                                  default=_known(chosen.departments, data.load(dimensions.departments)),
                                  placeholder="All departments")

    start, end = (period + (None, None))[:2] if isinstance(period, tuple) else (period, period)
    chosen = Filters(start=start if start != first else None, end=end if end != last else None,
                     facilities=tuple(facilities), suppliers=tuple(supplier_ids),
                     categories=tuple(category_ids), departments=tuple(departments))
    st.session_state.filters = chosen
    _write_url(chosen)
    return current()


def _write_url(chosen: Filters) -> None:
    """Set the filters' keys in the query string, leaving the page's own keys (?case=…) alone."""
    wanted = to_query(chosen)
    for key in ("from", "to", *LISTS.values()):
        if key not in wanted and key in st.query_params:
            del st.query_params[key]
    for key, values in wanted.items():
        if st.query_params.get_all(key) != values:
            st.query_params[key] = values


def current() -> Filters:
    """The filters the viewer chose, within the facilities they may see."""
    return st.session_state.get("filters", Filters()).within(data.viewer_scope())


def _known(values: tuple[str, ...], options) -> list[str]:
    return [v for v in values if v in options]
