"""Sync lag: how late each system learns of a business event, where the delay comes from."""

import streamlit as st

from app import charts, data, filters, formats
from models import sync_lag

st.title("Sync lag")
st.caption("From the moment an event happens in one system to the moment the next system has it, "
           "measured on the integration middleware's spans.")

chosen = filters.current()
sla = st.sidebar.number_input("SLA (minutes)", min_value=1, max_value=24 * 60,
                              value=sync_lag.SLA_SECONDS // 60, step=5) * 60
pairs = data.load(sync_lag.by_system_pair, sla, filters=chosen)
if not pairs.num_rows:
    st.info("No spans carry p2p.event.id in this selection, so there is no sync lag to show. "
            "Send the middleware's spans to the OTLP receiver or ingest span files.")
    st.stop()

total = sum(pairs.column("events").to_pylist())
unsynced_count = sum(pairs.column("unsynced").to_pylist())
worst = pairs.to_pylist()[0]
tiles = st.columns(4)
tiles[0].metric("Events carried", f"{total:,}")
tiles[1].metric("Worst p95 lag", formats.duration(worst["p95_s"]),
                help=f"{worst['source_system']} → {worst['target_system']}")
tiles[2].metric("Over SLA", formats.share(
    sum(p["share_over_sla"] * p["events"] for p in pairs.to_pylist()) / total))
tiles[3].metric("Unsynced beyond tolerance", f"{unsynced_count:,}")

pairs_view = pairs.append_column("label", [[
    f"p95 {formats.duration(p['p95_s'])}<br>{formats.share(p['share_over_sla'])} over SLA"
    for p in pairs.to_pylist()]])
st.plotly_chart(charts.matrix(pairs_view, x="target_system", y="source_system", value="p95_s",
                              text="label", title="Which system pairs are slow, and how often over SLA?"),
                width="stretch")

span_days = (chosen.end - chosen.start).days if chosen.start and chosen.end else 365
bucket = "hour" if span_days <= 14 else "day"
trend = data.load(sync_lag.over_time, bucket, filters=chosen)
trend = trend.append_column("pair", [[f"{s} → {t}" for s, t in zip(
    trend.column("source_system").to_pylist(), trend.column("target_system").to_pylist())]])
trend = trend.append_column("p95_min", [[None if v is None else v / 60 for v in trend.column("p95_s").to_pylist()]])
st.plotly_chart(charts.lines_with_threshold(
    trend.select(["bucket", "p95_min", "pair"]), x="bucket", y="p95_min", color="pair",
    threshold=sla / 60, threshold_label="SLA", y_title="p95 lag (minutes)",
    title=f"When was sync slow? p95 lag per {bucket}"), width="stretch")

left, right = st.columns(2)
left.subheader("Stuck: not synced beyond tolerance")
stuck = data.load(sync_lag.unsynced, filters=chosen)
if stuck.num_rows:
    left.dataframe(stuck.select(["event_id", "object_id", "source_system", "target_system", "facility",
                                 "event_time", "age_s", "attempts"]), hide_index=True, width="stretch")
else:
    left.success("Every event published into a target has been committed there.")

right.subheader("Slowest events")
slow = data.load(sync_lag.slowest, 50, filters=chosen)
pick = right.dataframe(slow.select(["event_id", "source_system", "target_system", "lag_s", "attempts",
                                    "got_429", "service"]),
                       hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row")

rows = pick.selection.rows if pick and pick.selection else []
chosen_hop = slow.to_pylist()[rows[0] if rows else 0]
st.subheader(f"Why was {chosen_hop['event_id']} late into {chosen_hop['target_system']}?")
path = data.load(sync_lag.critical_path, chosen_hop["trace_id"], chosen_hop["target_system"])
dominant = [r for r in path.to_pylist() if r["critical"]]
if dominant:
    st.markdown(f"Lag **{formats.duration(chosen_hop['lag_s'])}**; the dominant hop is "
                f"**{dominant[0]['service']} · {dominant[0]['name']}**, "
                f"{formats.duration(dominant[0]['step_s'])} of it.")
st.plotly_chart(charts.waterfall(path, title="The event's trace, hop by hop"), width="stretch")
