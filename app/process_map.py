"""The process map as Graphviz DOT: a directly-follows graph pruned the way process-mining tools
do it, with sliders for how many activities and paths to show. Laid out by the browser
(st.graphviz_chart), so no Graphviz binary is needed."""

from __future__ import annotations

import pyarrow as pa

from app import formats

START, END = "▶ start", "■ end"


def process_map(dfg: pa.Table, starts: dict[str, int], ends: dict[str, int], *,
                activity_share: float = 1.0, path_share: float = 1.0, metric: str = "count") -> str:
    """DOT of the DFG keeping the most frequent `activity_share` of activities and, among their
    edges, the most frequent `path_share` — but always every activity's strongest way in and
    out, so the map stays connected. `metric`: "count" labels edges with cases, or a
    performance column ("median_s", "mean_s", "p90_s") labels them with durations."""
    edges = dfg.to_pylist()
    frequency: dict[str, int] = {}
    for e in edges:
        frequency[e["target"]] = frequency.get(e["target"], 0) + e["count"]
    for a, n in starts.items():
        frequency[a] = max(frequency.get(a, 0), n)
    ranked = sorted(frequency, key=lambda a: (-frequency[a], a))
    keep = set(ranked[:max(1, round(len(ranked) * activity_share))])

    inner = [e for e in edges if e["source"] in keep and e["target"] in keep]
    inner += [{"source": START, "target": a, "count": n} for a, n in starts.items() if a in keep]
    inner += [{"source": a, "target": END, "count": n} for a, n in ends.items() if a in keep]
    inner.sort(key=lambda e: (-e["count"], e["source"], e["target"]))
    chosen = inner[:max(1, round(len(inner) * path_share))]
    for a in keep:   # every kept activity keeps its strongest edge in and out
        for side in ("target", "source"):
            best = next((e for e in inner if e[side] == a), None)
            if best and best not in chosen:
                chosen.append(best)

    top = max((e["count"] for e in chosen), default=1)
    lines = ['digraph process {', '  rankdir=TB; bgcolor="transparent"; nodesep=0.3; ranksep=0.35;',
             '  node [shape=box, style="rounded,filled", fontname="sans-serif", fontsize=11, '
             'color="#0072B2", fillcolor="#EAF2F8"];', '  edge [fontname="sans-serif", fontsize=10, color="#5B6B7B", arrowsize=0.6];']
    for a in sorted(keep):
        lines.append(f'  "{_q(a)}" [label="{_q(a)}\\n{frequency[a]:,}"];')
    lines.append(f'  "{START}" [shape=circle, label="", width=0.25, fillcolor="#009E73", color="#009E73"];')
    lines.append(f'  "{END}" [shape=doublecircle, label="", width=0.2, fillcolor="#D55E00", color="#D55E00"];')
    for e in chosen:
        label = f"{e['count']:,}" if metric == "count" or e.get(metric) is None else formats.duration(e[metric])
        width = 1 + 4 * e["count"] / top
        lines.append(f'  "{_q(e["source"])}" -> "{_q(e["target"])}" [label=" {label}", penwidth={width:.1f}];')
    lines.append("}")
    return "\n".join(lines)


def _q(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
