"""Trace export files: OTLP/JSON (one request per file, or one per line as the Collector's file
exporter writes), Zipkin v2 JSON (a list of spans) and Jaeger query-API JSON ({"data": [...]}),
told apart by their content."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from itertools import chain
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from collectors.errors import BadRequest, UnreadableSource
from collectors.otlp import decode_json_request
from collectors.spans import iso_us, span_row, span_table
from models.batches import Batch, dead_letters
from models.vocabulary import SERVICE_NAME

OTLP, ZIPKIN, JAEGER = "otlp_json", "zipkin_json", "jaeger_json"
SPANS_PER_BATCH = 100_000
_JAEGER_TYPES = {"int64": int, "float64": float, "bool": lambda v: v in (True, "true", "True"),
                 "string": str, "binary": str}


def detect(head: str) -> str | None:
    """The trace format of a file starting with `head`, or None."""
    text = head.lstrip("\ufeff \t\r\n")
    if text.startswith("["):
        return ZIPKIN if '"traceId"' in text[:4096] else None
    if text.startswith("{"):
        if '"resourceSpans"' in text[:4096]:
            return OTLP
        if '"data"' in text[:4096] and ('"traceID"' in text or '"spans"' in text):
            return JAEGER
    return None


def read_trace_file(path: str | Path) -> Iterator[Batch]:
    """The span batches of the trace file at `path` (OTLP requests SPANS_PER_BATCH spans to a
    batch). OTLP JSON lines are read a line at a time (a Collector's file export grows without bound: a 16 GB one was read
    whole and split into lines, and the import was killed at 24 GB); a Zipkin or Jaeger
    document, or one OTLP request, is read whole."""
    source = str(path)
    try:
        with open(path, encoding="utf-8-sig") as f:
            head = f.read(65536)
            kind = detect(head)
            if kind is None:
                raise UnreadableSource(
                    f"{source}: not a trace file; expected OTLP/JSON (resourceSpans), Zipkin v2 "
                    "JSON (a list of spans) or Jaeger JSON ({\"data\": [...]})")
            if kind == OTLP:
                f.seek(0)
                yield from _grouped(_otlp(f, source))
                return
            text = head + f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableSource(f"{source}: cannot read as UTF-8 text ({exc})") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableSource(f"{source}: not valid JSON ({exc})") from exc
    yield zipkin_batch(doc, source) if kind == ZIPKIN else jaeger_batch(doc, source)


def _otlp(f, source: str) -> Iterator[Batch]:
    """One request per file (the whole text is one JSON value), else one per non-blank line, a
    line that is no request going to dead_letter. Two first lines that are JSON each mean lines,
    read as they come; anything else is read whole."""
    numbered = ((n, line) for n, line in enumerate(f, 1) if line.strip())
    first, second = next(numbered, None), next(numbered, None)
    if second is not None and _is_json(first[1]):
        requests = chain([first, second], numbered)
    else:
        f.seek(0)
        text = f.read()
        try:
            requests = [(None, json.loads(text))]
        except json.JSONDecodeError:
            requests = [(n, line) for n, line in enumerate(text.split("\n"), 1) if line.strip()]
    for line, request in requests:
        where = source if line is None else f"{source} line {line}"
        try:
            decoded = _decode(request, where)
        except BadRequest as exc:
            if line is None:
                raise UnreadableSource(f"{source}: {exc}") from exc
            yield Batch(dead_letter=dead_letters([(source, f"line {line}", request.rstrip("\n"), str(exc))]))
            continue
        yield decoded.batch


def _grouped(batches: Iterator[Batch]) -> Iterator[Batch]:
    """Consecutive requests' batches as one per SPANS_PER_BATCH spans: the store searches for
    already stored spans once per batch, and a load's own uncommitted spans are searched too, so
    one batch per request (~500 spans) made a 17M-span file's import slow down as it went."""
    held, spans = [], 0
    for batch in batches:
        held.append(batch)
        spans += batch.span.num_rows if batch.span is not None else 0
        if spans >= SPANS_PER_BATCH:
            yield _merged(held)
            held, spans = [], 0
    if held:
        yield _merged(held)


def _merged(batches: list[Batch]) -> Batch:
    tables: dict[str, list] = {}
    for batch in batches:
        for name, table in batch.tables().items():
            tables.setdefault(name, []).append(table)
    return Batch(**{name: pa.concat_tables(parts) for name, parts in tables.items()})


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
        return True
    except json.JSONDecodeError:
        return False


def _decode(request, where: str):
    if not isinstance(request, dict):
        try:
            request = json.loads(request)
        except json.JSONDecodeError as exc:
            raise BadRequest(f"body is not JSON ({exc})") from exc
    return decode_json_request(request, where)


# -- Zipkin v2 ----------------------------------------------------------------------------------
def zipkin_batch(spans: list, source: str) -> Batch:
    """Zipkin v2 spans (timestamps and durations in µs). A span id that several records share
    (a shared RPC span: the client's half and the server's, or local fragments) keeps its id on
    the first record; the others get a derived id with the first as parent, so every record
    is kept and every parent link still resolves in its trace."""
    rows, rejects = [], []
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for n, s in enumerate(spans, 1):
        if not isinstance(s, dict) or not s.get("traceId") or not s.get("id"):
            rejects.append((source, f"span {n}", json.dumps(s), "not a Zipkin span: traceId and id are required"))
            continue
        groups[(s["traceId"].lower(), s["id"].lower())].append(s)
    first_time = {k: min((s["timestamp"] for s in g if s.get("timestamp") is not None), default=None)
                  for k, g in groups.items()}
    for (trace, span_id), group in groups.items():
        for i, s in enumerate(group):
            start = s.get("timestamp", first_time[(trace, span_id)])
            if start is None:
                rejects.append((source, f"span {trace}/{span_id}", json.dumps(s),
                                "no timestamp on this span or any record of the same id"))
                continue
            own_id = span_id if i == 0 else _derived_id(trace, span_id, i)
            parent = (s.get("parentId") or "").lower() or None if i == 0 else span_id
            local = s.get("localEndpoint") or {}
            tags = dict(s.get("tags") or {})
            attrs = dict(tags)
            if (s.get("remoteEndpoint") or {}).get("serviceName"):
                attrs["peer.service"] = s["remoteEndpoint"]["serviceName"]
            if i:
                attrs["zipkin.id"] = span_id
            if s.get("shared"):
                attrs["zipkin.shared"] = True
            service = local.get("serviceName")
            rows.append(span_row(**{
                "trace_id": trace, "span_id": own_id, "parent_span_id": parent, "name": s.get("name") or "",
                "kind": s.get("kind") or "INTERNAL", "service": service,
                "start_us": int(start), "end_us": int(start) + int(s.get("duration") or 0),
                "status_code": "ERROR" if "error" in tags else "UNSET",
                "status_message": tags.get("error") or None,
                "attributes": attrs, "resource": {SERVICE_NAME: service} if service else {},
                "scope": None,
                "events": [{"name": a.get("value", ""), "time": _iso(a.get("timestamp")), "attributes": {}}
                           for a in s.get("annotations") or []],
                "links": [],
            }))
    return Batch(span=span_table(rows), dead_letter=dead_letters(rejects) if rejects else None)


def _derived_id(trace: str, span_id: str, i: int) -> str:
    return hashlib.md5(f"{trace}:{span_id}:{i}".encode()).hexdigest()[:16]


def _iso(micros) -> str | None:
    return iso_us(int(micros)) if micros is not None else None


# -- Jaeger query API ---------------------------------------------------------------------------
def jaeger_batch(doc: dict, source: str) -> Batch:
    """Jaeger's query-API JSON: {"data": [{"traceID", "spans": [...], "processes": {...}}]}."""
    rows, rejects = [], []
    for t, trace in enumerate(doc.get("data") or [], 1):
        processes = trace.get("processes") or {}
        for n, s in enumerate(trace.get("spans") or [], 1):
            try:
                trace_id = (s.get("traceID") or trace["traceID"]).lower()
                span_id = s["spanID"].lower()
                start = int(s["startTime"])
            except (KeyError, TypeError, ValueError) as exc:
                rejects.append((source, f"trace {t} span {n}", json.dumps(s), f"not a Jaeger span: {exc!r} missing or invalid"))
                continue
            refs = s.get("references") or []
            parent = next((r["spanID"].lower() for r in refs if r.get("refType") == "CHILD_OF"), None)
            if parent is None and s.get("parentSpanID") not in (None, "", "0"):
                parent = s["parentSpanID"].lower()
            tags = _jaeger_tags(s.get("tags"))
            process = processes.get(s.get("processID")) or s.get("process") or {}
            service = process.get("serviceName")
            kind = str(tags.pop("span.kind", "internal")).upper()
            status = str(tags.pop("otel.status_code", "ERROR" if tags.get("error") is True else "UNSET")).upper()
            rows.append(span_row(**{
                "trace_id": trace_id, "span_id": span_id, "parent_span_id": parent,
                "name": s.get("operationName") or "", "kind": kind, "service": service,
                "start_us": start, "end_us": start + int(s.get("duration") or 0),
                "status_code": status, "status_message": tags.pop("otel.status_description", None),
                "attributes": tags,
                "resource": {**({SERVICE_NAME: service} if service else {}), **_jaeger_tags(process.get("tags"))},
                "scope": tags.pop("otel.scope.name", None) or tags.pop("otel.library.name", None),
                "events": [{"name": str(f.get("event", "")), "time": _iso(log.get("timestamp")), "attributes": f}
                           for log in s.get("logs") or [] for f in [_jaeger_tags(log.get("fields"))]],
                "links": [{"trace_id": r.get("traceID", "").lower(), "span_id": r.get("spanID", "").lower(),
                           "attributes": {"ref_type": r.get("refType")}}
                          for r in refs if r.get("refType") != "CHILD_OF" or r["spanID"].lower() != parent],
            }))
    return Batch(span=span_table(rows), dead_letter=dead_letters(rejects) if rejects else None)


def _jaeger_tags(tags) -> dict:
    out = {}
    for tag in tags or []:
        cast = _JAEGER_TYPES.get(str(tag.get("type", "string")).lower(), lambda v: v)
        try:
            out[tag["key"]] = cast(tag.get("value"))
        except (TypeError, ValueError):
            out[tag["key"]] = tag.get("value")
    return out
