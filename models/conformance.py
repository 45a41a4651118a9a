"""Conformance against a reference P2P model: fitness per case and per variant, and deviations.

The model is a Petri net (a shipped BPMN file in models/reference/ converted by pm4py, or one
discovered from the log). Each DISTINCT variant is replayed once, by token-based replay exactly
as pm4py's token replay defines it (`pm4py.fitness_token_based_replay` with its defaults), so
every figure equals pm4py's on the same net; the replay itself runs here over plain Python
values, memoised on (marking, activity): a prefix that many variants share, or a marking that
recurs, is worked out once. pm4py's heuristics are followed step by step, including its order
of trying silent transitions; the net's iteration order comes from `discovery.replay_net`.

Fitness of a trace with m missing, c consumed, r remaining and p produced tokens (the initial
marking counts as produced, the final marking as consumed): 0.5 * (1 - m/c) + 0.5 * (1 - r/p),
1.0 when c or p is 0. A trace fits when m = r = 0. An activity without a transition in the model
leaves the counts alone (pm4py's default). Log fitness takes the four counts summed over all
cases (a variant weighs as many times as it has cases), as pm4py's `log_fitness`; a case's
fitness is its variant's. The one known way to differ from pm4py: in a net with several
transitions of the same label enabled at once, pm4py fires the first of a Python set (an order
that depends on object ids), we the first in the net's order. The reference models have none.

Deviations, from the replay of each variant (an event is "forced" when its transition was not
enabled even after pm4py's walk through silent transitions, so tokens were added):
- inserted step: an event whose activity is not in the model, or a forced event whose activity
  already occurred earlier in the case (a repetition the model does not allow there);
- wrong order: a forced event (first of its activity) such that an activity occurring LATER in
  the case produces, directly or through silent transitions, a token it was missing: both are
  there, in the wrong order (an invoice received before its PO was created);
- skipped step: a forced event whose missing tokens no later activity produces: the step that
  produces them (named in `activity`; "A or B" when the model offers a choice) was skipped;
  and, at the end, tokens left for activities that never occurred in the case (a case that
  stopped before the model's end).
One row per (kind, activity) per variant; a deviation's `cases` are the cases of the variants
that show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from models import discovery, mining
from models.filters import ALL, Filters
from models.queries import table as _table

REFERENCE_DIR = Path(__file__).with_name("reference")
SKIPPED, INSERTED, WRONG_ORDER = "skipped step", "inserted step", "wrong order"
DISCOVERED = "discovered"          # model=: IMf (noise 0.2) on the variants in scope


class ModelNotFound(ValueError):
    """No reference model for this case notion (names the ones shipped)."""


def reference_models() -> dict[str, Path]:
    """Object type -> its shipped reference model (BPMN 2.0)."""
    return {p.stem: p for p in sorted(REFERENCE_DIR.glob("*.bpmn"))}


def load_model(object_type: str, model: str = "reference", variants: pa.Table | None = None):
    """The Petri net to check against: "reference" (the shipped BPMN of this case notion), a
    path to a .bpmn file, or "discovered" (IMf 0.2 on `variants`)."""
    if model == DISCOVERED:
        return discovery.discover_from_variants(variants, 0.2)
    if model == "reference":
        shipped = reference_models()
        if object_type not in shipped:
            raise ModelNotFound(f"no reference model for object type {object_type!r}; shipped: "
                                f"{', '.join(shipped)} (or give a .bpmn path, or 'discovered')")
        return discovery.read_bpmn(shipped[object_type])
    if not Path(model).is_file():
        raise ModelNotFound(f"model {model!r} is neither 'reference', 'discovered' nor a BPMN file")
    return discovery.read_bpmn(model)


def check(con, object_type: str, model="reference", filters: Filters = ALL) -> dict:
    """Conformance of one case notion's cases (in scope) with a model (see `load_model`; a
    `ProcessModel` is taken as is): log_fitness, average_case_fitness, fitting_cases_share,
    by_variant (variant, cases, fitness, missing/consumed/remaining/produced tokens, deviations)
    and deviations (kind, activity, cases, share); the tables most cases first."""
    variants = mining.variants(con, object_type, filters=filters)
    net = model if isinstance(model, discovery.ProcessModel) else load_model(object_type, model, variants)
    seqs = [tuple(v) for v in variants.column("variant").to_pylist()]
    cases = variants.column("cases").to_pylist()
    results = Replayer(discovery.replay_net(net)).replay_variants(seqs)
    return {"object_type": object_type, "cases": sum(cases), "variants": len(seqs),
            **summarize(results, cases), "by_variant": _by_variant(seqs, cases, results),
            "deviations": _deviations(results, cases)}


def case_fitness(con, object_type: str, case_id: str, model="reference") -> dict:
    """One case's replay: its variant, fitness, token counts and deviations."""
    rows = _table(con, "conformance.case_variant", object_type=object_type, case_id=case_id).to_pylist()
    if not rows:
        raise KeyError(f"no case {case_id!r} of object type {object_type!r}")
    variant = tuple(rows[0]["variant"])
    net = model if isinstance(model, discovery.ProcessModel) else load_model(
        object_type, model, mining.variants(con, object_type) if model == DISCOVERED else None)
    r = Replayer(discovery.replay_net(net)).replay_variants([variant])[0]
    return {"object_type": object_type, "case_id": case_id, "variant": list(variant), **_public(r)}


def summarize(results: list["Replay"], cases: list[int]) -> dict:
    """Log fitness (pm4py's log_fitness: counts summed over cases), average case fitness and the
    share of fitting cases."""
    n = sum(cases)
    m, c, r, p = (sum(getattr(x, k) * w for x, w in zip(results, cases))
                  for k in ("missing", "consumed", "remaining", "produced"))
    fit = sum(w for x, w in zip(results, cases) if x.fits)
    if not n or not c or not p:
        return {"log_fitness": None, "average_case_fitness": None, "fitting_cases_share": None}
    return {"log_fitness": 0.5 * (1 - m / c) + 0.5 * (1 - r / p),
            "average_case_fitness": sum(x.fitness * w for x, w in zip(results, cases)) / n,
            "fitting_cases_share": fit / n}


def _public(r: "Replay") -> dict:
    return {"fitness": r.fitness, "fits": r.fits, "missing": r.missing, "consumed": r.consumed,
            "remaining": r.remaining, "produced": r.produced,
            "deviations": [{"kind": k, "activity": a} for k, a in r.deviations]}


def _by_variant(seqs, cases, results) -> pa.Table:
    rows = [{"variant": list(v), "cases": n, **_public(r)} for v, n, r in zip(seqs, cases, results)]
    rows.sort(key=lambda row: -row["cases"])
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("variant", pa.list_(pa.string())), ("cases", pa.int64()), ("fitness", pa.float64()),
        ("fits", pa.bool_()), ("missing", pa.int64()), ("consumed", pa.int64()),
        ("remaining", pa.int64()), ("produced", pa.int64()),
        ("deviations", pa.list_(pa.struct([("kind", pa.string()), ("activity", pa.string())])))]))


def _deviations(results, cases) -> pa.Table:
    total = sum(cases) or 1
    counts: dict[tuple[str, str], int] = {}
    for r, n in zip(results, cases):
        for key in r.deviations:
            counts[key] = counts.get(key, 0) + n
    rows = [{"kind": k, "activity": a, "cases": n, "share": n / total}
            for (k, a), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return pa.Table.from_pylist(rows, schema=pa.schema([("kind", pa.string()), ("activity", pa.string()),
                                                         ("cases", pa.int64()), ("share", pa.float64())]))


@dataclass(frozen=True)
class Replay:
    """One variant's token replay."""

    missing: int
    consumed: int
    remaining: int
    produced: int
    deviations: tuple[tuple[str, str], ...]

    @property
    def fits(self) -> bool:
        return self.missing == 0 and self.remaining == 0

    @property
    def fitness(self) -> float:
        if self.consumed > 0 and self.produced > 0:
            return 0.5 * (1.0 - self.missing / self.consumed) + 0.5 * (1.0 - self.remaining / self.produced)
        return 1.0


_ABSENT = "absent"      # a step's note: the activity has no transition in the model
_MAX_IT_FINAL = 5       # pm4py's MAX_IT_FINAL1 / MAX_IT_FINAL2
_MAX_REC_DEPTH = 2      # pm4py's MAX_REC_DEPTH_HIDTRANSENABL


class Replayer:
    """pm4py's token-based replay (version 2.7) over a net from `discovery.replay_net`.

    A marking is a dict place -> tokens whose insertion order follows pm4py's Marking (a
    Counter), since pm4py breaks some ties by it; the memo keys are its items in that order."""

    def __init__(self, spec: dict):
        names = spec["places"]
        self.rank = {i: r for r, i in enumerate(sorted(range(len(names)), key=lambda i: names[i]))}
        ts = spec["transitions"]
        self.labels = [t[1] for t in ts]
        self.pre = [tuple(t[2]) for t in ts]
        self.post = [tuple(t[3]) for t in ts]
        self.cons = [sum(w for _, w in a) for a in self.pre]
        self.prod = [sum(w for _, w in a) for a in self.post]
        self.trans_map: dict = {}
        for i in sorted(range(len(ts)), key=lambda i: ts[i][0]):      # pm4py: last by name wins
            self.trans_map[ts[i][1]] = i
        self.by_label: dict[str, list[int]] = {}
        for i, label in enumerate(self.labels):
            if label is not None:
                self.by_label.setdefault(label, []).append(i)
        self.im = dict(spec["initial_marking"])
        self.fm = dict(spec["final_marking"])
        self.paths = {p: {q: tuple(path) for q, path in to.items()} for p, to in spec["silent_paths"].items()}
        self._steps: dict = {}
        self._ends: dict = {}
        self._producers, self._consumers = self._silent_reach(len(names))

    # -- the public question ------------------------------------------------------------------

    def replay_variants(self, variants: list[tuple[str, ...]]) -> list[Replay]:
        return [self.replay(v) for v in variants]

    def replay(self, variant: tuple[str, ...]) -> Replay:
        marking = dict(self.im)
        key = tuple(marking.items())
        missing = consumed = 0
        produced = sum(self.im.values())
        notes = []
        for activity in variant:
            step = self._steps.get((key, activity))
            if step is None:
                step = self._steps[(key, activity)] = self._step(marking, activity)
            marking, key, dm, dc, dp, note = step
            missing += dm
            consumed += dc
            produced += dp
            notes.append(note)
        end = self._ends.get(key)
        if end is None:
            end = self._ends[key] = self._end(marking)
        dm, dc, dp, remaining, left = end
        return Replay(missing + dm, consumed + dc, remaining, produced + dp,
                      self._classify(variant, notes, left))

    # -- pm4py's algorithm, step by step ------------------------------------------------------

    def _enabled(self, t, m) -> bool:
        return all(m.get(p, 0) >= w for p, w in self.pre[t])

    def _execute(self, t, m) -> dict:
        out = dict(m)
        for p, w in self.pre[t]:
            out[p] -= w
            if out[p] == 0:
                del out[p]
        for p, w in self.post[t]:
            out[p] = out.get(p, 0) + w
        return out

    def _sorted(self, places):
        return sorted(places, key=self.rank.__getitem__)

    def _paths_between(self, sources, targets) -> list[tuple[int, ...]]:
        found = []
        targets = self._sorted(targets)
        for p1 in self._sorted(sources):
            to = self.paths.get(p1)
            if to:
                found.extend(to[p2] for p2 in targets if p2 in to)
        found.sort(key=len)
        return found

    def _enable_hidden(self, m, visited, groups, t, fired):
        index = [0] * len(groups)
        z = 0
        while True:
            g = z % len(groups)
            changed = False
            for _ in range(index[g], len(groups[g])):
                t3 = groups[g][index[g]]
                if t3 != t and self._enabled(t3, m) and t3 not in visited:
                    m = self._execute(t3, m)
                    fired.append(t3)
                    visited.add(t3)
                    changed = True
                index[g] += 1
                if self._enabled(t, m):
                    break
            if self._enabled(t, m) or not changed:
                return m
            z += 1

    def _apply_hidden(self, t, m, depth, visited, fired):
        if depth >= _MAX_REC_DEPTH or t in visited:
            return m
        visited.add(t)
        start = m
        lacking = [p for p, w in self.pre[t] if m.get(p, 0) < w]
        groups = self._paths_between(m, lacking)
        if groups:
            m = self._enable_hidden(m, visited, groups, t, fired)
            if not self._enabled(t, m):
                for group in self._paths_between(m, lacking):
                    for t4 in group:
                        if t4 != t and t4 not in visited:
                            if not self._enabled(t4, m):
                                m = self._apply_hidden(t4, m, depth + 1, visited, fired)
                            if self._enabled(t4, m):
                                m = self._execute(t4, m)
                                fired.append(t4)
                                visited.add(t4)
            if not self._enabled(t, m) and start != m:
                m = self._apply_hidden(t, m, depth + 1, visited, fired)
        return m

    def _step(self, m, activity):
        if activity not in self.trans_map:
            return m, tuple(m.items()), 0, 0, 0, _ABSENT
        enabled = [t for t in self.by_label.get(activity, ()) if self._enabled(t, m)]
        t = enabled[0] if enabled else self.trans_map[activity]
        dm = dc = dp = 0
        if not self._enabled(t, m):
            fired: list[int] = []
            m = self._apply_hidden(t, dict(m), 0, set(), fired)
            dc += sum(self.cons[x] for x in fired)
            dp += sum(self.prod[x] for x in fired)
        note = None
        if not self._enabled(t, m):
            m = dict(m)
            lacking = []
            for p, w in self.pre[t]:
                have = m.get(p, 0)
                if have < w:
                    dm += w - have
                    lacking.append(p)
                    m[p] = have + w
            note = tuple(lacking)
        dc += self.cons[t]
        dp += self.prod[t]
        m = self._execute(t, m)
        return m, tuple(m.items()), dm, dc, dp, note

    def _covers_final(self, m) -> bool:
        return all(p in m for p in self.fm)

    def _end(self, m):
        dc = dp = 0
        if not self._covers_final(m):
            for _ in range(_MAX_IT_FINAL):
                if self._covers_final(m):
                    break
                for group in self._paths_between(m, self.fm):
                    for t in group:
                        if self._enabled(t, m):
                            m = self._execute(t, m)
                            dc += self.cons[t]
                            dp += self.prod[t]
                    if self._covers_final(m):
                        break
            if not self._covers_final(m) and len(self.fm) == 1:
                sink = next(iter(self.fm))
                routes = sorted((self.paths[p][sink] for p in m if sink in self.paths.get(p, {})), key=len)
                for _ in range(_MAX_IT_FINAL):
                    for route in routes:
                        for t in route:
                            if not self._enabled(t, m):
                                break
                            m = self._execute(t, m)
                            dc += self.cons[t]
                            dp += self.prod[t]
        dm = sum(max(0, n - m.get(p, 0)) for p, n in self.fm.items())
        left = [p for p, n in m.items() if n > self.fm.get(p, 0)]
        remaining = sum(n - self.fm[p] if p in self.fm else n for p, n in m.items() if n > self.fm.get(p, 0))
        return dm, dc + sum(self.fm.values()), dp, remaining, tuple(left)

    # -- deviations ---------------------------------------------------------------------------

    def _silent_reach(self, n_places):
        """Per place, the places its token can move on to through silent transitions alone; then
        per place the visible activities that produce into it (through silent transitions) and
        those that consume from it."""
        reach = []
        for p in range(n_places):
            seen, todo = {p}, [p]
            while todo:
                q = todo.pop()
                for t, pre in enumerate(self.pre):
                    if self.labels[t] is None and any(s == q for s, _ in pre):
                        for r, _ in self.post[t]:
                            if r not in seen:
                                seen.add(r)
                                todo.append(r)
            reach.append(seen)
        producers = [set() for _ in range(n_places)]
        consumers = [set() for _ in range(n_places)]
        for t, label in enumerate(self.labels):
            if label is None:
                continue
            for p, _ in self.post[t]:
                for q in reach[p]:
                    producers[q].add(label)
            for q in range(n_places):
                if any(s in reach[q] for s, _ in self.pre[t]):
                    consumers[q].add(label)
        return producers, consumers

    def _classify(self, variant, notes, left) -> tuple[tuple[str, str], ...]:
        found: dict[tuple[str, str], None] = {}
        for i, (activity, note) in enumerate(zip(variant, notes)):
            if note is None:
                continue
            if note == _ABSENT or activity in variant[:i]:
                found[(INSERTED, activity)] = None
                continue
            needed = set().union(*(self._producers[p] for p in note))
            if needed & set(variant[i + 1:]):
                found[(WRONG_ORDER, activity)] = None
            else:
                skipped = sorted(needed - set(variant[:i])) or sorted(needed)
                found[(SKIPPED, " or ".join(skipped) if skipped else f"(before {activity})")] = None
        occurred = set(variant)
        for p in left:
            expected = self._consumers[p]
            if expected and not expected & occurred:
                found[(SKIPPED, " or ".join(sorted(expected)))] = None
        return tuple(found)
