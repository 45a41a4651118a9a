"""Chart builders: a table in, a Plotly figure out. No data access, no Streamlit."""

from __future__ import annotations

import functools
import hashlib

import plotly.express as px
import plotly.graph_objects as go
import plotly.io as pio
import pyarrow as pa

# Okabe–Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"]
SEQUENTIAL = "Blues"

# Merged with plotly_white once: a default of "plotly_white+p2p" is merged again for every figure.
pio.templates["p2p"] = pio.templates.merge_templates("plotly_white", go.layout.Template(
    layout=go.Layout(colorway=PALETTE, font=dict(family="sans-serif", size=13),
                     margin=dict(l=10, r=10, t=50, b=10), title=dict(x=0, xanchor="left"))
))
pio.templates.default = "p2p"


def warm_up() -> None:
    """Build and serialise a tiny figure of each kind the pages draw, so that plotly's first-use
    costs (validators imported on demand, the theme applied) fall at start-up rather than on a
    first visitor's page (about half a second)."""
    frame = pa.table({"x": ["a", "b"], "y": [1, 2]}).to_pandas()
    for fig in (px.imshow([[1, 2], [3, 4]]), px.line(frame, x="x", y="y", color="x", markers=True),
                px.bar(frame, x="x", y="y", text="y"), px.scatter(frame, x="x", y="y", color="x"),
                go.Figure(go.Bar(x=[1], y=["a"], orientation="h"))):
        fig.add_hline(y=1, line_dash="dash", annotation_text="threshold")
        fig.update_layout(title="warm-up", coloraxis_showscale=False)
        fig.to_json()


def _kept(build):
    """Keep the last figures built from the same table and arguments: building one through
    plotly express takes ~0.1 s, which a page whose data is already cached would otherwise
    spend on every view. Callers only draw the figure, never change it."""
    @functools.lru_cache(maxsize=256)
    def from_digest(digest: str, table: "_Held", *args, **kwargs) -> go.Figure:
        return build(table.table, *args, **kwargs)

    @functools.wraps(build)
    def kept(table: pa.Table, *args, **kwargs) -> go.Figure:
        return from_digest(_digest(table), _Held(table), *args, **kwargs)
    return kept


class _Held:
    """A table passed through the cache without taking part in its key (the digest does)."""
    def __init__(self, table: pa.Table):
        self.table = table

    def __hash__(self) -> int:
        return 0

    def __eq__(self, other) -> bool:
        return True


def _digest(table: pa.Table) -> str:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.blake2b(sink.getvalue().to_pybytes(), digest_size=16).hexdigest()


@_kept
def heatmap(table: pa.Table, x: str, y: str, value: str, title: str) -> go.Figure:
    """`value` per (`y`, `x`) cell, e.g. events per facility and source system."""
    df = table.select([x, y, value]).to_pandas()
    grid = df.pivot_table(index=y, columns=x, values=value, aggfunc="sum", fill_value=0)
    fig = px.imshow(grid, text_auto=",d", color_continuous_scale=SEQUENTIAL, aspect="auto", title=title)
    fig.update_layout(coloraxis_showscale=False, xaxis_title=None, yaxis_title=None)
    return fig


@_kept
def bars(table: pa.Table, x: str, y: str, title: str, color: str | None = None) -> go.Figure:
    """Horizontal bars of `x` per `y`, largest on top."""
    df = table.to_pandas().sort_values(x)
    fig = px.bar(df, x=x, y=y, color=color, orientation="h", title=title, text_auto=",d")
    fig.update_layout(yaxis_title=None, showlegend=color is not None,
                      height=min(600, 140 + 36 * df[y].nunique()))
    return fig


@_kept
def matrix(table: pa.Table, x: str, y: str, value: str, title: str, text: str | None = None) -> go.Figure:
    """A source × target style grid of `value`, labelled with `text` (a column of strings)."""
    df = table.to_pandas()
    grid = df.pivot_table(index=y, columns=x, values=value, aggfunc="max")
    labels = df.pivot_table(index=y, columns=x, values=text, aggfunc="first") if text else None
    fig = px.imshow(grid, color_continuous_scale="Oranges", aspect="auto", title=title)
    if labels is not None:
        text = labels.reindex(index=grid.index, columns=grid.columns).fillna("").values
        fig.update_traces(text=text, texttemplate="%{text}")
    fig.update_layout(coloraxis_showscale=False, xaxis_title="target system", yaxis_title="source system")
    return fig


@_kept
def lines_with_threshold(table: pa.Table, x: str, y: str, color: str, threshold: float,
                         threshold_label: str, title: str, y_title: str) -> go.Figure:
    """One line per `color` over `x`, with a dashed horizontal threshold (an SLA)."""
    df = table.to_pandas()
    fig = px.line(df, x=x, y=y, color=color, title=title, markers=len(df) < 60)
    fig.add_hline(y=threshold, line_dash="dash", line_color=PALETTE[3],
                  annotation_text=threshold_label, annotation_position="top left")
    fig.update_layout(yaxis_title=y_title, xaxis_title=None, legend_title=None)
    return fig


@_kept
def waterfall(table: pa.Table, title: str) -> go.Figure:
    """A trace's spans as bars from their start, each preceded by the wait before it (a poll
    interval, a Retry-After); the dominant step of the critical path stands out. Waits usually
    dwarf the spans, so spans get a minimum visible width."""
    rows = table.to_pylist()
    end = max((r["start_offset_s"] + r["duration_s"] for r in rows), default=0) or 1
    unit, scale = ("hours", 3600) if end > 3 * 3600 else ("minutes", 60) if end > 600 else ("seconds", 1)
    seen: dict[str, int] = {}
    labels = []
    for r in rows:   # one row per span; repeated attempts are numbered
        base = f"{'  ' * r['depth']}{r['service'] or ''} · {r['name']}"
        seen[base] = seen.get(base, 0) + 1
        labels.append(base if seen[base] == 1 else f"{base} #{seen[base]}")
    colours = {"dominant hop": PALETTE[3], "on critical path": PALETTE[1], "other": "#B8C4CE"}
    role = ["dominant hop" if r["critical"] else "on critical path" if r["on_path"] else "other" for r in rows]
    fig = go.Figure()
    fig.add_bar(name="waiting", orientation="h", y=labels, marker_color="#E3E8ED",
                base=[(r["start_offset_s"] - (r["wait_s"] or 0)) / scale for r in rows],
                x=[(r["wait_s"] or 0) / scale for r in rows],
                hovertemplate="waited %{x:.2f} " + unit + "<extra></extra>")
    for name, colour in colours.items():
        picked = [i for i, k in enumerate(role) if k == name]
        if not picked:
            continue
        fig.add_bar(name=name, orientation="h", marker_color=colour, y=[labels[i] for i in picked],
                    base=[rows[i]["start_offset_s"] / scale for i in picked],
                    x=[max(rows[i]["duration_s"], end / 300) / scale for i in picked],
                    customdata=[[rows[i]["duration_s"], rows[i]["http_status"], rows[i]["status_code"]]
                                for i in picked],
                    hovertemplate="%{y}<br>took %{customdata[0]:.2f} s, HTTP %{customdata[1]}, "
                                  "%{customdata[2]}<extra></extra>")
    fig.update_yaxes(autorange="reversed", title=None, categoryorder="array", categoryarray=labels)
    fig.update_layout(title=title, barmode="overlay", xaxis_title=f"{unit} since the event at its source",
                      legend_title=None, height=max(300, 26 * len(rows) + 140))
    return fig


@_kept
def timeline(trail: pa.Table, title: str) -> go.Figure:
    """A case's events over time, one row per system, so the hand-offs between systems show."""
    df = trail.select(["ts", "activity", "source_system", "actor"]).to_pandas()
    df["source_system"] = df["source_system"].fillna("middleware only")
    fig = px.scatter(df, x="ts", y="source_system", color="source_system", hover_name="activity",
                     hover_data={"actor": True, "source_system": False}, title=title)
    fig.update_traces(marker=dict(size=12, line=dict(width=1, color="white")))
    fig.update_layout(showlegend=False, yaxis_title=None, xaxis_title=None,
                      height=140 + 50 * df["source_system"].nunique())
    return fig


@_kept
def aging_bars(aging: pa.Table, title: str) -> go.Figure:
    """Open exceptions per age bucket: count as bars, amount on hover and as labels."""
    df = aging.to_pandas()
    fig = px.bar(df, x="bucket", y="exceptions", title=title, text=[f"${a:,.0f}" for a in df["amount"]],
                 hover_data={"amount": ":,.2f"})
    fig.update_layout(xaxis_title="days since flagged", yaxis_title="open exceptions")
    return fig
