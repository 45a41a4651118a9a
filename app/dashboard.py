"""The dashboard's entry script: page navigation and what every page shares."""

import streamlit as st

st.set_page_config(page_title="P2P Observatory", page_icon=":material/monitoring:", layout="wide")

PAGES = [
    st.Page("dashboards/data_health.py", title="Data health", icon=":material/monitor_heart:",
            url_path="data-health", default=True),
]

st.navigation(PAGES).run()
