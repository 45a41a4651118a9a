"""Chart builders: a table in, a Plotly figure out. No data access, no Streamlit."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import plotly.io as pio
import pyarrow as pa

# Okabe–Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"]
SEQUENTIAL = "Blues"

pio.templates["p2p"] = go.layout.Template(
    layout=go.Layout(colorway=PALETTE, font=dict(family="sans-serif", size=13),
                     margin=dict(l=10, r=10, t=50, b=10), title=dict(x=0, xanchor="left"))
)
pio.templates.default = "plotly_white+p2p"


def heatmap(table: pa.Table, x: str, y: str, value: str, title: str) -> go.Figure:
    """`value` per (`y`, `x`) cell, e.g. events per facility and source system."""
    df = table.select([x, y, value]).to_pandas()
    grid = df.pivot_table(index=y, columns=x, values=value, aggfunc="sum", fill_value=0)
    fig = px.imshow(grid, text_auto=",d", color_continuous_scale=SEQUENTIAL, aspect="auto", title=title)
    fig.update_layout(coloraxis_showscale=False, xaxis_title=None, yaxis_title=None)
    return fig


def bars(table: pa.Table, x: str, y: str, title: str, color: str | None = None) -> go.Figure:
    """Horizontal bars of `x` per `y`, largest on top."""
    df = table.to_pandas().sort_values(x)
    fig = px.bar(df, x=x, y=y, color=color, orientation="h", title=title, text_auto=",d")
    fig.update_layout(yaxis_title=None, showlegend=color is not None)
    return fig
