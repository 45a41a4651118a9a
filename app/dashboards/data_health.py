"""Data health: what the store holds per facility and source system, and how it got there."""

import streamlit as st

from app import charts, data, filters
from models import health

st.title("Data health")
st.caption("What the event store holds, per facility and source system, and the lineage of every load.")

counts = data.load(health.counts)
tiles = st.columns(4)
tiles[0].metric("Business events", f"{counts['events']:,}")
tiles[1].metric("Business objects", f"{counts['objects']:,}")
tiles[2].metric("Integration spans", f"{counts['spans']:,}")
tiles[3].metric("Rejected records", f"{counts['dead_letters']:,}")

if not counts["events"] and not counts["spans"]:
    st.info("The store is empty. Load data with `p2pobs ingest PATH` or run `p2pobs demo`.")
    st.stop()

chosen = filters.current()
by_system = data.load(health.events_by_facility_system, filters=chosen)
left, right = st.columns([3, 2])
left.plotly_chart(
    charts.heatmap(by_system, x="source_system", y="facility", value="events",
                   title="Which systems report events for which facility?"),
    width="stretch",
)
objects = data.load(health.objects_by_type)
right.plotly_chart(charts.bars(objects, x="objects", y="object_type",
                               title="Which business objects does the store know?"), width="stretch")
st.dataframe(by_system, hide_index=True, width="stretch")

st.subheader("Integration traffic")
spans = data.load(health.spans_by_service, filters=chosen)
if spans.num_rows:
    st.plotly_chart(charts.bars(spans, x="spans", y="service",
                                title="How many spans did each integration service send?"),
                    width="stretch")
    st.dataframe(spans, hide_index=True, width="stretch")
else:
    st.info("No spans yet: point an OpenTelemetry exporter at the OTLP receiver, or ingest span files.")

st.subheader("Loads")
st.dataframe(data.load(health.ingest_batches), hide_index=True, width="stretch")

st.subheader("Rejected records")
letters = data.load(health.dead_letters_by_reason)
if letters.num_rows:
    st.dataframe(letters, hide_index=True, width="stretch")
else:
    st.success("No rejected records: every record received was accepted.")
