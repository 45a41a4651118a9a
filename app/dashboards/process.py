"""Process: the procure-to-pay process as it really ran — map, discovered model, variants."""

import streamlit as st

from app import charts, data, filters, formats
from app.process_map import process_map
from models import conformance, discovery, mining

st.title("Process")
st.caption("Reconstructed from every system's events. A case is one business object; "
           "its events are all those that touched it, in time order.")

chosen = filters.current()
types = data.load(mining.object_types, filters=chosen).to_pylist()
if not types:
    st.info("No cases yet: ingest state logs to see the process.")
    st.stop()
labels = {t["object_type"]: f"{t['object_type']} ({t['cases']:,} cases)" for t in types}
default = [t["object_type"] for t in types].index("invoice") if "invoice" in labels else 0
object_type = st.selectbox("Case notion", list(labels), index=default, format_func=labels.get,
                           help="Follow invoices, purchase order lines, requisitions, …")

starts = data.load(mining.start_activities, object_type, filters=chosen)
ends = data.load(mining.end_activities, object_type, filters=chosen)

map_tab, model_tab, variants_tab, conformance_tab = st.tabs(
    ["Process map", "Discovered model (BPMN)", "Variants", "Conformance"])

with map_tab:
    left, middle, right = st.columns([1, 1, 1])
    metric = left.radio("Show", ["count", "median_s", "p90_s"], horizontal=True,
                        format_func={"count": "Frequency", "median_s": "Median time",
                                     "p90_s": "90th percentile time"}.get)
    activity_share = middle.slider("Activities", 5, 100, 100, step=5, format="%d%%") / 100
    path_share = right.slider("Paths", 5, 100, 40, step=5, format="%d%%") / 100
    # Counts come from the variants; times between events read every event of the cases.
    dfg = data.load(mining.dfg, object_type, filters=chosen, performance=metric != "count")
    st.graphviz_chart(process_map(dfg, starts, ends, activity_share=activity_share,
                                  path_share=path_share, metric=metric), height=720)
    st.caption(f"{dfg.num_rows:,} distinct transitions between activities; the map keeps the most "
               "frequent ones and every activity's strongest way in and out.")

with model_tab:
    noise = st.slider("Noise filter (IMf)", 0.0, 0.5, 0.2, step=0.05,
                      help="Leave out behaviour rarer than this share when discovering the model.")
    model = data.load(discovery.discover, object_type, noise, filters=chosen)
    if model["bpmn_dot"]:
        st.graphviz_chart(model["bpmn_dot"], width="stretch", height=480)
        st.caption(f"Inductive miner (IMf, noise {noise:.2f}) on the distinct variants: "
                   f"{model['visible_transitions']} activities, {model['places']} places.")

with variants_tab:
    variants = data.load(mining.variants, object_type, filters=chosen)
    rows = variants.slice(0, 200).to_pylist()
    st.dataframe([{"cases": r["cases"], "share": formats.share(r["share"]),
                   "median throughput": formats.duration(r["median_throughput_s"]),
                   "steps": len(r["variant"]), "variant": " → ".join(r["variant"])} for r in rows],
                 hide_index=True, width="stretch")
    st.caption(f"{variants.num_rows:,} variants; the 200 most frequent are listed.")

with conformance_tab:
    if object_type not in conformance.reference_models():
        st.info(f"No reference model is shipped for {object_type} cases (there are: "
                f"{', '.join(conformance.reference_models())}). Choose one of those case notions.")
    else:
        checked = data.load(conformance.check, object_type, "reference", filters=chosen)
        tiles = st.columns(3)
        tiles[0].metric("Log fitness", f"{checked['log_fitness']:.4f}",
                        help="Token-based replay on the reference model, as pm4py defines it")
        tiles[1].metric("Cases that fit", formats.share(checked["fitting_cases_share"]))
        tiles[2].metric("Variants checked", f"{checked['variants']:,}",
                        help="Each distinct variant is replayed once and counts for its cases")
        st.caption("The reference model treats bill-only implants, services with two-way match and "
                   "STAT orders as legitimate paths, so only real deviations remain.")
        deviations = checked["deviations"]
        if deviations.num_rows:
            st.plotly_chart(charts.bars(deviations.slice(0, 15), x="cases", y="activity", color="kind",
                                        title="Where do cases leave the reference process, and how?"),
                            width="stretch")
            st.dataframe(deviations, hide_index=True, width="stretch",
                         column_config={"share": st.column_config.NumberColumn(format="percent")})
        else:
            st.success("Every case follows the reference model.")
