"""Case explorer (auditors): any purchase end to end — who, when, which system, which
integration service carried it, and the evidence to export."""

import streamlit as st

from app import charts, data
from models import audit, cases, controls, exports

st.title("Case explorer")
st.caption("Find a case by purchase order, invoice, requisition or supplier id, or by a person.")

text = st.text_input("Search", value=st.query_params.get("case", ""),
                     placeholder="e.g. 4500000660, INV-1000244, SUP-100191 or a user name")
if not text:
    st.info("Type a document number (as any system writes it) or a user name to find cases.")
    st.stop()
found = data.load(cases.find, text)
if not found.num_rows:
    st.warning(f"Nothing matches “{text}”. Ids match in part and in any case, people by their "
               "user name as the systems record it.")
    st.stop()

pick = st.dataframe(found, hide_index=True, width="stretch", on_select="rerun",
                    selection_mode="single-row", height=min(38 * (found.num_rows + 1), 300))
rows = pick.selection.rows if pick and pick.selection else []
case = found.to_pylist()[rows[0] if rows else 0]
st.query_params["case"] = case["object_id"]

title, download = st.columns([3, 1], vertical_alignment="bottom")
title.header(f"{case['object_type'].replace('_', ' ')} {case['object_id']}")
download.download_button(
    "Download audit pack", data.deferred(exports.audit_pack, case["object_id"]),
    file_name=f"{case['object_id']}-audit-pack.zip", mime="application/zip", on_click="ignore",
    icon=":material/download:",
    help="A zip of this case's trail, documents, control findings and spans, an OCEL 2.0 log of "
         "it, and a manifest with the sha256 of each file and one content hash over them all.")
trail = data.load(audit.case_trail, case["object_id"])
left, middle, right = st.columns(3)
left.metric("Events in the trail", f"{trail.num_rows:,}")
middle.metric("Systems", len(set(trail.column("source_system").to_pylist()) - {None}))
right.metric("Integration spans", f"{sum(n or 0 for n in trail.column('spans').to_pylist()):,}")

st.plotly_chart(charts.timeline(trail, title="What happened, in which system, and when?"), width="stretch")
st.subheader("Trail")
st.dataframe(trail.select(["ts", "activity", "source_system", "facility", "actor", "actor_kind",
                           "services", "spans", "error_spans", "objects"]),
             hide_index=True, width="stretch")

st.subheader("Controls this case trips")
involved = sorted({o for objects in trail.column("objects").to_pylist() for o in (objects or [])}
                  | {case["object_id"]})
tripped = data.load(controls.tripped_by, involved)
if tripped:
    st.dataframe(tripped, hide_index=True, width="stretch",
                 column_config={"amount": st.column_config.NumberColumn(format="dollar")})
else:
    st.success("No control finds anything in this case: " + ", ".join(
        title for title, _ in controls.CONTROLS.values()) + ".")
