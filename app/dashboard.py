"""The dashboard's entry script: page navigation and what every page shares."""

import streamlit as st

from app.filters import filter_bar

st.set_page_config(page_title="P2P Observatory", page_icon=":material/monitoring:", layout="wide")

PAGES = [
    st.Page("dashboards/overview.py", title="Overview", icon=":material/dashboard:", url_path="overview",
            default=True),
    st.Page("dashboards/invoices.py", title="Invoices", icon=":material/receipt_long:", url_path="invoices"),
    st.Page("dashboards/process.py", title="Process", icon=":material/account_tree:", url_path="process"),
    st.Page("dashboards/sync_lag.py", title="Sync lag", icon=":material/sync_problem:", url_path="sync-lag"),
    st.Page("dashboards/cases.py", title="Case explorer", icon=":material/search:", url_path="cases"),
    st.Page("dashboards/data_health.py", title="Data health", icon=":material/monitor_heart:",
            url_path="data-health"),
]

page = st.navigation(PAGES)
filter_bar()
page.run()
