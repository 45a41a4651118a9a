"""Data health: what the store holds per facility and source system, and how it got there."""

import streamlit as st

from app import charts, data, dead_letters, filters
from collectors.errors import MappingError
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

st.subheader("Can the systems' times be trusted together?")
skew = data.load(health.clock_skew, filters=chosen)
coverage = data.load(health.span_coverage, filters=chosen)
left, right = st.columns(2)
if skew.num_rows:
    left.dataframe(skew, hide_index=True, width="stretch", column_config={
        "median_offset_s": st.column_config.NumberColumn("median offset (s)", format="%.2f"),
        "p05_offset_s": st.column_config.NumberColumn("5th percentile (s)", format="%.2f"),
        "min_offset_s": st.column_config.NumberColumn("smallest (s)", format="%.2f"),
        "ahead_of_middleware": st.column_config.NumberColumn("stamped before published")})
    left.caption("Offset = when the middleware saw the event published − when the source system "
                 "says it happened. Below zero, the source's clock runs ahead (or its time zone is wrong).")
right.dataframe(coverage, hide_index=True, width="stretch", column_config={
    "coverage": st.column_config.ProgressColumn("cases with spans", format="percent", min_value=0, max_value=1)})
right.caption("How many cases have at least one event that an integration span carried.")

st.subheader("Loads")
st.dataframe(data.load(health.ingest_batches), hide_index=True, width="stretch")

dropped = data.load(health.duplicates_by_source)
if dropped.num_rows:
    st.caption(f"{sum(dropped.column('duplicates').to_pylist()):,} repeated records were dropped "
               "(already stored, or repeated within a load, such as one row per invoice line).")

st.subheader("Rejected records")
letters = data.load(health.dead_letters_by_reason)
if letters.num_rows:
    st.dataframe(letters, hide_index=True, width="stretch")
    with st.form("replay"):
        st.markdown("**Replay** rejected records through a corrected mapping (a file on the server).")
        mapping = st.text_input("Mapping file", placeholder="data/demo/mappings/erp.toml")
        source = st.selectbox("Records of", [None, *sorted(set(letters.column("source").to_pylist()))],
                              format_func=lambda s: "every source" if s is None else s)
        if st.form_submit_button("Replay") and mapping:
            try:
                result = dead_letters.replay(data.store(), mapping, source)
            except (OSError, MappingError) as exc:
                st.error(f"Cannot replay: {exc}")
            else:
                st.success(f"Accepted {result['accepted']:,} of {result['replayed']:,} records; "
                           f"{result['still_rejected']:,} still rejected.")
else:
    st.success("No rejected records: every record received was accepted.")
