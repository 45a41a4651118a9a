"""Invoices (finance): what is blocked or stuck in exceptions, for how long, with whom, and
whether our three-way match agrees with the AP platform's."""

from datetime import datetime, time

import streamlit as st

from app import charts, data, filters, formats
from models import kpis

st.title("Invoices")
chosen = filters.current()
arrivals = data.load(kpis.invoice_arrivals, filters=chosen)
if not arrivals.num_rows:
    st.info("No invoices in this selection.")
    st.stop()

day = st.date_input("As of", value=data.load(kpis.reporting_day, filters=chosen),
                    help="Open exceptions and blocks at the end of this day (default: the last "
                         "month-end close while invoices were arriving)")
as_of = datetime.combine(day, time.max)

blocked = data.load(kpis.blocked_invoices, as_of, filters=chosen)
aging = data.load(kpis.exception_aging, as_of, filters=chosen)
discounts = data.load(kpis.discount_at_risk, as_of, filters=chosen)
tiles = st.columns(5)
tiles[0].metric("Blocked invoices", f"{blocked.num_rows:,}")
tiles[1].metric("Blocked amount", formats.money(sum(blocked.column("amount").to_pylist())))
tiles[2].metric("Open exceptions", f"{sum(aging.column('exceptions').to_pylist()):,}")
tiles[4].metric("Cash discount at risk", formats.money(sum(discounts.column("discount").to_pylist())),
                help="Unpaid invoices whose early-payment discount can still be taken")
tiles[3].metric("Oldest block", formats.duration(max(blocked.column("age_days").to_pylist(), default=0) * 86400)
                if blocked.num_rows else "–")

left, right = st.columns(2)
if sum(aging.column("exceptions").to_pylist()):
    left.plotly_chart(charts.aging_bars(aging, title=f"How old are the open exceptions on {day:%d %b %Y}?"),
                      width="stretch")
else:
    left.success("No match exception was open at that moment.")
if blocked.num_rows:
    right.plotly_chart(charts.bars(data.load(kpis.blocked_summary, "holder", as_of, filters=chosen),
                                   x="amount", y="holder",
                                   title="Whose queue holds the blocked money?"), width="stretch")
    left.plotly_chart(charts.bars(data.load(kpis.blocked_summary, "reason", as_of, filters=chosen),
                                   x="amount", y="reason",
                                   title="Why is it blocked?"), width="stretch")
    st.subheader("Blocked invoices")
    st.dataframe(formats.with_case_links(blocked, "invoice_id"), hide_index=True, width="stretch",
                 column_config={
        "invoice_id": st.column_config.LinkColumn("invoice", display_text=r"case=(.*)$"),
        "amount": st.column_config.NumberColumn(format="dollar"),
        "age_days": st.column_config.NumberColumn("age (days)", format="%.1f"),
    })
    st.caption("Click an invoice to open its case: its trail across systems and the controls it trips.")
else:
    right.success("Nothing was blocked at that moment.")

st.subheader("Discounts still to take")
if discounts.num_rows:
    st.dataframe(formats.with_case_links(discounts, "invoice_id"), hide_index=True, width="stretch",
                 column_config={
        "invoice_id": st.column_config.LinkColumn("invoice", display_text=r"case=(.*)$"),
        "amount": st.column_config.NumberColumn(format="dollar"),
        "discount": st.column_config.NumberColumn(format="dollar"),
        "discount_pct": st.column_config.NumberColumn("discount %", format="%.1f"),
        "blocked": st.column_config.CheckboxColumn("blocked (release to pay in time)")})
else:
    st.info(f"No unpaid invoice on {day:%d %b %Y} still had an early-payment discount to take.")
