"""Process models discovered from what SQL already counted: the one module that imports pm4py.

pm4py is imported inside the functions (the import takes seconds) and is fed aggregates, never
events: a directly-follows graph (`discover_from_dfg`, the inductive miner's IMd variant) or the
distinct variants with their case counts (`discover_from_variants`, IM or IMf). Drawing is apart
from discovering: the `*_dot` functions return Graphviz DOT source for the browser to lay out;
no Graphviz binary is called.

From variants vs from the DFG: the variants keep which activities share a case, so IM/IMf can
find sequences, choices and loops that the DFG alone blurs, and IMf's noise filter weighs each
variant by its cases exactly as pm4py does on the whole log. IMd sees only the DFG: cheaper
(one row per edge, whatever the log size), and its model can differ from IMf's on the log.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class ProcessModel:
    """A discovered model in pm4py's objects: the process tree and its Petri net."""

    tree: Any
    net: Any
    initial_marking: Any
    final_marking: Any

    def size(self) -> dict[str, int]:
        """places, transitions (visible and silent) and arcs of the Petri net."""
        visible = sum(1 for t in self.net.transitions if t.label is not None)
        return {"places": len(self.net.places), "transitions": len(self.net.transitions),
                "visible_transitions": visible, "arcs": len(self.net.arcs)}


def discover_from_dfg(dfg_table: pa.Table, start: dict[str, int], end: dict[str, int]) -> ProcessModel:
    """IMd on a DFG: `dfg_table` as `mining.dfg` returns it (source, target, count), `start`
    and `end` as `mining.start_activities` / `end_activities` return them."""
    pm4py = quiet_pm4py()
    from pm4py.objects.dfg.obj import DFG

    graph = {(s, t): c for s, t, c in zip(dfg_table.column("source").to_pylist(),
                                          dfg_table.column("target").to_pylist(),
                                          dfg_table.column("count").to_pylist())}
    tree = pm4py.discover_process_tree_inductive(DFG(graph, dict(start), dict(end)))
    return _model(pm4py, tree)


def discover_from_variants(variants_table: pa.Table, noise_threshold: float = 0.0) -> ProcessModel:
    """IM (noise_threshold 0) or IMf on the variants (variant, cases) as `mining.variants`
    returns them: the same tree pm4py's inductive miner finds on the whole log."""
    pm4py = quiet_pm4py()
    from pm4py.algo.discovery.inductive.dtypes.im_ds import IMDataStructureUVCL
    from pm4py.algo.discovery.inductive.variants.im import IMUVCL
    from pm4py.algo.discovery.inductive.variants.imf import IMFUVCL
    from pm4py.objects.process_tree.utils.generic import fold, tree_sort

    # pm4py's own entry point rebuilds this Counter from an event log; we hand it over directly.
    uvcl = Counter({tuple(v): c for v, c in zip(variants_table.column("variant").to_pylist(),
                                                variants_table.column("cases").to_pylist())})
    parameters = {"noise_threshold": noise_threshold, "multiprocessing": False,
                  "disable_fallthroughs": False}
    miner = IMFUVCL(parameters) if noise_threshold > 0 else IMUVCL(parameters)
    tree = fold(miner.apply(IMDataStructureUVCL(uvcl), parameters))
    tree_sort(tree)
    return _model(pm4py, tree)


def petri_net_dot(model: ProcessModel) -> str:
    """The Petri net as Graphviz DOT source (initial and final marking drawn)."""
    quiet_pm4py()
    from pm4py.visualization.petri_net import visualizer

    return visualizer.apply(model.net, model.initial_marking, model.final_marking).source


def bpmn_dot(model: ProcessModel) -> str:
    """The model as a BPMN diagram in Graphviz DOT source."""
    pm4py = quiet_pm4py()
    from pm4py.visualization.bpmn import visualizer

    return visualizer.apply(pm4py.convert_to_bpmn(model.tree)).source


def process_tree_dot(model: ProcessModel) -> str:
    """The process tree as Graphviz DOT source."""
    quiet_pm4py()
    from pm4py.visualization.process_tree import visualizer

    return visualizer.apply(model.tree).source


def _model(pm4py, tree) -> ProcessModel:
    net, im, fm = pm4py.convert_to_petri_net(tree)
    return ProcessModel(tree, net, im, fm)


def quiet_pm4py():
    """pm4py, imported on first use without its welcome banner and progress bars."""
    sys._pm4py_welcome_shown = True     # pm4py's own switch for the banner it prints once
    import pm4py
    from pm4py.util import constants

    constants.SHOW_PROGRESS_BAR = False
    return pm4py


def discover(con, object_type: str, noise_threshold: float = 0.2, filters=None) -> dict:
    """Discover a model for one case notion from the store's variants (IMf with this noise
    threshold): its size, and the BPMN and Petri net as DOT source."""
    from models import mining
    from models.filters import ALL

    variants = mining.variants(con, object_type, filters=filters or ALL)
    if not variants.num_rows:
        return {"object_type": object_type, "bpmn_dot": None, "petri_net_dot": None}
    model = discover_from_variants(variants, noise_threshold)
    return {"object_type": object_type, "noise_threshold": noise_threshold, **model.size(),
            "bpmn_dot": bpmn_dot(model), "petri_net_dot": petri_net_dot(model)}


def read_bpmn(path) -> ProcessModel:
    """A BPMN 2.0 file (such as the shipped reference models) as a Petri net; no process tree."""
    pm4py = quiet_pm4py()
    net, im, fm = pm4py.convert_to_petri_net(pm4py.read_bpmn(str(path)))
    return ProcessModel(None, net, im, fm)


def replay_net(model: ProcessModel) -> dict:
    """The Petri net in plain Python values for `conformance.replay`, with everything pm4py's
    token replay takes from its objects, in the order pm4py iterates it (that order decides
    its ties): places (names), transitions (name, label, input and output arcs as (place index,
    weight) in the arcs' iteration order), the markings as (place index, tokens), and pm4py's
    own shortest paths between places through silent transitions (place -> place -> transition
    indices), which its replay walks to enable a transition or reach the final marking."""
    quiet_pm4py()
    from pm4py.algo.conformance.tokenreplay.variants.token_replay import TechnicalParameters
    from pm4py.objects.petri_net.utils.petri_utils import get_places_shortest_path_by_hidden

    places = list(model.net.places)
    transitions = list(model.net.transitions)
    p_index = {p: i for i, p in enumerate(places)}
    t_index = {t: i for i, t in enumerate(transitions)}
    paths = get_places_shortest_path_by_hidden(model.net, TechnicalParameters.MAX_REC_DEPTH.value)
    return {
        "places": [p.name for p in places],
        "transitions": [(t.name, t.label, [(p_index[a.source], a.weight) for a in t.in_arcs],
                         [(p_index[a.target], a.weight) for a in t.out_arcs]) for t in transitions],
        "initial_marking": [(p_index[p], n) for p, n in model.initial_marking.items()],
        "final_marking": [(p_index[p], n) for p, n in model.final_marking.items()],
        "silent_paths": {p_index[p1]: {p_index[p2]: [t_index[t] for t in path] for p2, path in to.items()}
                         for p1, to in paths.items()},
    }
