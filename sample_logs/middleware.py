"""The integration middleware's traces: one trace per business event carried from one system
to another, built from the hop timings and exported through the OpenTelemetry SDK's exporters.

Trace shape: a PRODUCER root at the source (publish), a child that transforms (CONSUMER when
read from a queue, INTERNAL for a poller) and one CLIENT child per write attempt into the
target; the successful write's end is the target's commit. Spans are built as SDK
`ReadableSpan`s straight from the arrays (the SDK tracer's per-span overhead would dominate at
millions of spans) and handed to a real SpanExporter in chunks, in a fixed order, with ids drawn
from the seeded generator: the same seed gives the same bytes.
"""

from __future__ import annotations

import io
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.status import Status, StatusCode

from models import vocabulary as v
from sample_logs import sync
from sample_logs.otlp_json import OtlpJsonLinesExporter

CHUNK = 512              # spans per export call (the SDK's BatchSpanProcessor default batch)
NS = 1_000_000           # ms -> ns
SCOPE_NAME = "p2p-observatory.sample_logs"
SAMPLED = TraceFlags(TraceFlags.SAMPLED)


@dataclass(frozen=True)
class Carried:
    """What a hop carried, per event: the ids the spans name."""

    hop: sync.Hop
    event_id: np.ndarray      # "<system>:<source key>", as the state log's mapping makes it
    object_id: np.ndarray     # canonical, e.g. PO-4500012345
    facility_id: np.ndarray
    supplier_id: np.ndarray


class _Resource(Resource):
    """A Resource whose hash is computed once: the SDK encoder hashes the resource of every span
    (json.dumps of its attributes each time), which cost ~10% of export time."""

    def __init__(self, attributes):
        super().__init__(attributes)
        self._hash = super().__hash__()

    def __hash__(self):
        return self._hash


def _resource(service: str, version: str) -> Resource:
    # explicit attributes only: no host, process or SDK detectors, so output is reproducible
    return _Resource({"service.name": service, "service.namespace": "mercy-integration",
                      "service.version": version, "deployment.environment.name": "simulation"})


@dataclass(frozen=True)
class _Ids:
    trace_hi: np.ndarray
    trace_lo: np.ndarray
    span: np.ndarray          # (events, 2): root and transform span ids
    attempt: np.ndarray       # one per write attempt
    first_attempt: np.ndarray
    attempts: np.ndarray


def draw_ids(carried: list[Carried], rng: np.random.Generator) -> list[_Ids]:
    """Trace and span ids for every hop, drawn up front so that blocks can be built anywhere."""
    out = []
    for c in carried:
        n, hop = len(c.hop), c.hop
        draw = lambda *shape: rng.integers(1, 2**63 - 1, shape, dtype=np.int64)
        out.append(_Ids(draw(n), draw(n), draw(n, 2), draw(len(hop.attempt_owner)),
                        np.searchsorted(hop.attempt_owner, np.arange(n)),
                        np.bincount(hop.attempt_owner, minlength=n)))
    return out


EVENTS_PER_BLOCK = CHUNK // 3


def blocks(carried: list[Carried]) -> list[tuple[int, int, int]]:
    """(hop index, first event, end event) of every export call, in output order."""
    return [(h, a, min(a + EVENTS_PER_BLOCK, len(c.hop)))
            for h, c in enumerate(carried) for a in range(0, len(c.hop), EVENTS_PER_BLOCK)]


def build_spans(c: Carried, ids: _Ids, start: int, stop: int, version: str) -> list[ReadableSpan]:
    """The SDK spans of events [start, stop) of one hop."""
    hop, spec = c.hop, c.hop.spec
    scope = InstrumentationScope(SCOPE_NAME, version)
    resource = _resource(spec.service, version)
    consumer = SpanKind.CONSUMER if spec.queue else SpanKind.INTERNAL
    messaging = ({"messaging.system": "rabbitmq", "messaging.destination.name": spec.queue}
                 if spec.queue else {"messaging.system": "outbox",
                                     "messaging.destination.name": f"{spec.source}.outbox"})
    publish_name = f"{messaging['messaging.destination.name']} publish"
    process_name = f"{spec.queue} process" if spec.queue else f"transform {spec.object_type}"
    route = spec.url.split("/api/", 1)[1].replace("/{}", "/{id}")
    write_name = f"{spec.method} /api/{route}"
    batch: list[ReadableSpan] = []
    for i in range(start, stop):
        trace_id = (int(ids.trace_hi[i]) << 64) | int(ids.trace_lo[i])
        root = SpanContext(trace_id, int(ids.span[i, 0]), False, SAMPLED)
        common = {
            v.EVENT_ID: str(c.event_id[i]), v.EVENT_TYPE: spec.event_type,
            v.OBJECT_TYPE: spec.object_type, v.OBJECT_ID: str(c.object_id[i]),
            v.SOURCE_SYSTEM: spec.source, v.TARGET_SYSTEM: spec.target,
            v.FACILITY_ID: str(c.facility_id[i]), v.SUPPLIER_ID: str(c.supplier_id[i]),
        }
        batch.append(ReadableSpan(
            publish_name, root, None, resource,
            {**common, **messaging, "messaging.operation.type": "publish"},
            kind=SpanKind.PRODUCER, instrumentation_scope=scope,
            start_time=int(hop.event_time[i]) * NS, end_time=int(hop.publish_end[i]) * NS))
        batch.append(ReadableSpan(
            process_name, SpanContext(trace_id, int(ids.span[i, 1]), False, SAMPLED), root,
            resource, {**common, **messaging, "messaging.operation.type": "process"}
            if spec.queue else common, kind=consumer, instrumentation_scope=scope,
            start_time=int(hop.transform_start[i]) * NS, end_time=int(hop.transform_end[i]) * NS))
        first = int(ids.first_attempt[i])
        for a in range(first, first + int(ids.attempts[i])):
            code = int(hop.attempt_status[a])
            attrs = {**common, "http.request.method": spec.method,
                     "url.full": spec.url.format(c.object_id[i]),
                     "http.response.status_code": code, "http.request.resend_count": a - first}
            if code >= 400:
                status = Status(StatusCode.ERROR, "Too Many Requests" if code == 429 else "Service Unavailable")
                attrs["error.type"] = str(code)
            else:
                status = Status(StatusCode.UNSET)
            batch.append(ReadableSpan(
                write_name, SpanContext(trace_id, int(ids.attempt[a]), False, SAMPLED), root,
                resource, attrs, kind=SpanKind.CLIENT, instrumentation_scope=scope, status=status,
                start_time=int(hop.attempt_start[a]) * NS, end_time=int(hop.attempt_end[a]) * NS))
    return batch


def export(carried: list[Carried], exporter: SpanExporter, rng: np.random.Generator,
           version: str) -> int:
    """Send every span through `exporter`, block by block, in order. Returns the span count."""
    ids = draw_ids(carried, rng)
    total = 0
    for h, a, b in blocks(carried):
        chunk = build_spans(carried[h], ids[h], a, b, version)
        if exporter.export(chunk) is not SpanExportResult.SUCCESS:
            raise RuntimeError(f"span export failed after {total} spans")
        total += len(chunk)
    exporter.shutdown()
    return total


# what forked workers read: set by write_json_lines just before the pool starts
_WORK: tuple = ()


def _json_line(block: tuple[int, int, int]) -> tuple[str, int]:
    carried, ids, version = _WORK
    h, a, b = block
    buffer = io.StringIO()
    chunk = build_spans(carried[h], ids[h], a, b, version)
    OtlpJsonLinesExporter(buffer).export(chunk)
    return buffer.getvalue(), len(chunk)


def write_json_lines(carried: list[Carried], stream, rng: np.random.Generator, version: str,
                     workers: int = 1) -> int:
    """Spans as OTLP/JSON lines, one export request per line. With workers > 1 the blocks are
    encoded in forked processes and written in block order, so the bytes do not change."""
    global _WORK
    _WORK = (carried, draw_ids(carried, rng), version)
    work = blocks(carried)
    total = 0
    try:
        if workers > 1 and len(work) > 4 * workers:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                for line, count in pool.map(_json_line, work, chunksize=8):
                    stream.write(line)
                    total += count
        else:
            for block in work:
                line, count = _json_line(block)
                stream.write(line)
                total += count
    finally:
        _WORK = ()
    return total
