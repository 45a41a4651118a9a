"""Overview (executives): how procure-to-pay performs, where it is getting worse, and the
largest risks now, each a click from its page."""

from datetime import datetime, time

import streamlit as st

from app import data, filters, formats
from models import controls, kpis, sync_lag

st.title("Overview")
chosen = filters.current()
# The tiles and the table by facility (or the dimension chosen below) come from one query.
by = st.session_state.get("overview_by", "facility")
tiles, table = data.load(kpis.scorecard, by, filters=chosen)
if not any(t["series"] for t in tiles):
    st.info("No invoices in this selection yet: the KPIs need invoices, payments and their events.")
    st.stop()
st.caption("Each tile: the latest full month in the selection against the month before; "
           "the line is the monthly trend. Green means better, whichever way the KPI should go.")

for row in (tiles[:4], tiles[4:]):
    for column, t in zip(st.columns(4), row):
        change = formats.kpi_change(t["change"], t["unit"])
        flat = formats.unchanged(change)   # neither better nor worse: no arrow, no colour
        column.metric(
            t["name"], formats.kpi_value(t["value"], t["unit"]), delta=change,
            delta_color="off" if flat else "normal" if t["good"] == "up" else "inverse",
            delta_arrow="off" if flat else "auto",
            chart_data=t["series"], chart_type="line", border=True,
            help=f"{kpis.BY_ID[t['kpi']].formula} — {t['month']:%B %Y}" if t["month"] else None)

st.subheader("Largest risks now")
day = data.load(kpis.reporting_day, filters=chosen)
as_of = datetime.combine(day, time.max) if day else None
st.caption(f"Open items as of {day:%d %B %Y}." if day else "")
blocked = data.load(kpis.blocked_invoices, as_of, filters=chosen)
aging = data.load(kpis.exception_aging, as_of, filters=chosen).to_pylist()
pairs = data.load(sync_lag.by_system_pair, filters=chosen).to_pylist()
findings = data.load(controls.counts)
risks = st.columns(4)
with risks[0].container(border=True):
    st.metric("Blocked invoices", formats.money(sum(blocked.column("amount").to_pylist())),
              help="Amount held by payment blocks at the end of the selected period")
    st.caption(f"{blocked.num_rows:,} invoice{'' if blocked.num_rows == 1 else 's'}")
    st.page_link("dashboards/invoices.py", label="Invoices", icon=":material/arrow_forward:")
with risks[1].container(border=True):
    old = [b for b in aging if b["min_days"] > 30]
    st.metric("Exceptions older than 30 days", f"{sum(b['exceptions'] for b in old):,}")
    st.caption(formats.money(sum(b["amount"] for b in old)) + " on hold")
    st.page_link("dashboards/invoices.py", label="Exception aging", icon=":material/arrow_forward:")
with risks[2].container(border=True):
    over = sum(p["share_over_sla"] * p["events"] for p in pairs)
    st.metric("Sync lag over SLA", f"{over:,.0f} events")
    st.caption(f"{sum(p['unsynced'] for p in pairs):,} never synced")
    st.page_link("dashboards/sync_lag.py", label="Sync lag", icon=":material/arrow_forward:")
with risks[3].container(border=True):
    st.metric("Control findings", f"{sum(findings.values()):,}")
    st.caption(" · ".join(f"{name}: {n:,}" for name, n in findings.items()))
    st.page_link("dashboards/cases.py", label="Case explorer", icon=":material/arrow_forward:")

st.subheader("By facility and by supplier")
st.radio("Compare", kpis.GROUPS, horizontal=True, label_visibility="collapsed", key="overview_by")
st.dataframe(formats.kpi_table(table, kpis.HEADLINE), hide_index=True, width="stretch")
