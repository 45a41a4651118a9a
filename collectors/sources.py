"""What to read and how: paths (files or directories) become `Source`s, each knowing its kind,
its mapping and how to yield its batches. Deterministic order: sorted paths."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from collectors.errors import UnreadableSource
from collectors.mappings import Mapping, read_mapping
from collectors.ocel import ocel_format, read_ocel
from collectors.trace_files import detect, read_trace_file
from collectors.workflow_logs import read_csv, read_jsonl
from collectors.xes import read_xes
from models.batches import Batch

STATE_LOG, TRACE_FILE, EVENT_LOG = "state_log", "trace_file", "event_log"
XES_SUFFIXES = (".xes", ".xes.gz")
OCEL_SUFFIXES = (".sqlite", ".sqlite3", ".db", ".jsonocel", ".json", ".xmlocel", ".xml")
IGNORED = ("manifest.json",)
MAPPINGS_DIR = "mappings"


@dataclass(frozen=True)
class Source:
    path: Path
    kind: str                                  # state_log | trace_file | event_log (XES, OCEL)
    mapping: Path | None
    read: Callable[[], Iterator[Batch]] = field(repr=False, compare=False)

    def batches(self) -> Iterator[Batch]:
        return self.read()


@dataclass
class Plan(list):
    """The sources to read, in order, and the files skipped with the reason (not errors)."""

    skipped: list[tuple[Path, str]] = field(default_factory=list)


def plan(paths: list[str | Path], mapping: str | Path | None = None) -> Plan:
    """The sources for `paths`. A file given explicitly must be readable (else UnreadableSource);
    files found in a directory that nothing can read are listed in `.skipped`."""
    explicit = read_mapping(mapping) if mapping else None
    out = Plan()
    for p in paths:
        p = Path(p)
        if p.is_dir():
            _plan_dir(p, explicit, mapping, out)
        elif p.is_file():
            source, reason = _source(p, explicit, Path(mapping) if mapping else None)
            if source is None:
                raise UnreadableSource(f"{p}: {reason}")
            out.append(source)
        else:
            raise UnreadableSource(f"{p}: no such file or directory")
    return out


def _plan_dir(root: Path, explicit: Mapping | None, explicit_path, out: Plan) -> None:
    mapped: dict[Path, tuple[Mapping, Path]] = {}
    for mpath in sorted((root / MAPPINGS_DIR).glob("*.toml")):
        m = read_mapping(mpath)
        for f in sorted(root.rglob("*")):
            rel = f.relative_to(root).as_posix()
            if f.is_file() and f not in mapped and any(fnmatch.fnmatch(rel, g) for g in m.files):
                mapped[f] = (m, mpath)
    for f in sorted(root.rglob("*")):
        rel = f.relative_to(root)
        if not f.is_file() or rel.parts[0] == MAPPINGS_DIR or f.name.startswith("."):
            continue
        if f.name in IGNORED:
            out.skipped.append((f, "the manifest of the sample logs, not a source"))
            continue
        m, mpath = mapped.get(f, (explicit, Path(explicit_path) if explicit_path else None))
        source, reason = _source(f, m, mpath)
        if source is None:
            out.skipped.append((f, reason))
        else:
            out.append(source)


def _source(f: Path, m: Mapping | None, mpath: Path | None) -> tuple[Source | None, str]:
    name = f.name.lower()
    fmt = m.format if m and m.format else None
    if fmt == "xes" or (fmt is None and name.endswith(XES_SUFFIXES)):
        return Source(f, EVENT_LOG, mpath, lambda: read_xes(f, m)), ""
    if fmt == "ocel" or (fmt is None and name.endswith(OCEL_SUFFIXES) and ocel_format(f)):
        return Source(f, EVENT_LOG, mpath, lambda: read_ocel(f, m)), ""
    head = _head(f)
    if fmt is None and name.endswith((".json", ".jsonl", ".ndjson")) and detect(head):
        return Source(f, TRACE_FILE, None, lambda: read_trace_file(f)), ""
    if fmt == "jsonl" or (fmt is None and name.endswith((".jsonl", ".ndjson"))):
        if m is None:
            return None, "JSON lines without a mapping and not OTLP spans; give a mapping (docs/mappings.md)"
        return Source(f, STATE_LOG, mpath, lambda: read_jsonl(f, m)), ""
    if fmt == "csv" or (fmt is None and name.endswith((".csv", ".tsv", ".txt"))):
        if m is None:
            first = head.lstrip("\ufeff").split("\n", 1)[0]
            if not all(k in first for k in ("case:concept:name", "concept:name", "time:timestamp")):
                return None, ("CSV without a mapping and without the pm4py columns "
                              "(case:concept:name, concept:name, time:timestamp); give a mapping")
        return Source(f, STATE_LOG, mpath, lambda: read_csv(f, m)), ""
    if detect(head):
        return Source(f, TRACE_FILE, None, lambda: read_trace_file(f)), ""
    if fmt is None and "<log" in head and "<trace" in head:
        return Source(f, EVENT_LOG, mpath, lambda: read_xes(f, m)), ""
    return None, (f"no reader for {f.suffix or 'this file'} (readers: .csv, .jsonl with a mapping; "
                  "OTLP/Zipkin/Jaeger .json; XES .xes/.xes.gz; OCEL 2.0 .sqlite/.jsonocel/.xmlocel, "
                  "OCEL 1.0 .jsonocel)")


def _head(f: Path) -> str:
    try:
        with open(f, "rb") as fh:
            return fh.read(65536).decode("utf-8-sig", errors="replace")
    except OSError as exc:
        raise UnreadableSource(f"{f}: cannot open ({exc.strerror or exc})") from exc
