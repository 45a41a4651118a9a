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


def _resource(service: str, version: str) -> Resource:
    # explicit attributes only: no host, process or SDK detectors, so output is reproducible
    return Resource({"service.name": service, "service.namespace": "mercy-integration",
                     "service.version": version, "deployment.environment.name": "simulation"})


def spans(carried: list[Carried], rng: np.random.Generator, version: str):
    """Yield lists of ReadableSpans, at most CHUNK long, hop by hop, event by event."""
    scope = InstrumentationScope(SCOPE_NAME, version)
    batch: list[ReadableSpan] = []
    for c in carried:
        hop, spec = c.hop, c.hop.spec
        n = len(hop)
        resource = _resource(spec.service, version)
        hi = rng.integers(1, 2**63 - 1, n, dtype=np.int64).astype(object)
        lo = rng.integers(1, 2**63 - 1, n, dtype=np.int64).astype(object)
        span_ids = rng.integers(1, 2**63 - 1, (n, 2), dtype=np.int64)
        attempt_ids = rng.integers(1, 2**63 - 1, len(hop.attempt_owner), dtype=np.int64)
        first_attempt = np.searchsorted(hop.attempt_owner, np.arange(n))
        n_attempts = np.bincount(hop.attempt_owner, minlength=n)
        consumer = SpanKind.CONSUMER if spec.queue else SpanKind.INTERNAL
        messaging = ({"messaging.system": "rabbitmq", "messaging.destination.name": spec.queue}
                     if spec.queue else {"messaging.system": "outbox",
                                         "messaging.destination.name": f"{spec.source}.outbox"})
        publish_name = f"{messaging['messaging.destination.name']} publish"
        process_name = (f"{spec.queue} process" if spec.queue else f"transform {spec.object_type}")
        route = spec.url.split("/api/", 1)[1].replace("/{}", "/{id}")
        write_name = f"{spec.method} /api/{route}"
        for i in range(n):
            trace_id = (int(hi[i]) << 64) | int(lo[i])
            root = SpanContext(trace_id, int(span_ids[i, 0]), False, SAMPLED)
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
                process_name, SpanContext(trace_id, int(span_ids[i, 1]), False, SAMPLED), root,
                resource, {**common, **messaging, "messaging.operation.type": "process"}
                if spec.queue else common, kind=consumer, instrumentation_scope=scope,
                start_time=int(hop.transform_start[i]) * NS, end_time=int(hop.transform_end[i]) * NS))
            for a in range(first_attempt[i], first_attempt[i] + n_attempts[i]):
                code = int(hop.attempt_status[a])
                attrs = {**common, "http.request.method": spec.method,
                         "url.full": spec.url.format(c.object_id[i]),
                         "http.response.status_code": code,
                         "http.request.resend_count": int(a - first_attempt[i])}
                if code >= 400:
                    status = Status(StatusCode.ERROR, "Too Many Requests" if code == 429 else "Service Unavailable")
                    attrs["error.type"] = str(code)
                else:
                    status = Status(StatusCode.UNSET)
                batch.append(ReadableSpan(
                    write_name, SpanContext(trace_id, int(attempt_ids[a]), False, SAMPLED), root,
                    resource, attrs, kind=SpanKind.CLIENT, instrumentation_scope=scope, status=status,
                    start_time=int(hop.attempt_start[a]) * NS, end_time=int(hop.attempt_end[a]) * NS))
            if len(batch) >= CHUNK:
                yield batch
                batch = []
    if batch:
        yield batch


def export(carried: list[Carried], exporter: SpanExporter, rng: np.random.Generator,
           version: str) -> int:
    """Send every span through `exporter`, chunk by chunk, in order. Returns the span count."""
    total = 0
    for chunk in spans(carried, rng, version):
        result = exporter.export(chunk)
        if result is not SpanExportResult.SUCCESS:
            raise RuntimeError(f"span export failed after {total} spans")
        total += len(chunk)
    exporter.shutdown()
    return total
