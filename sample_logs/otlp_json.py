"""An OpenTelemetry SpanExporter that writes OTLP/JSON lines, as the Collector's file exporter does.

The SDK has no JSON exporter. This one encodes with the SDK's own OTLP protobuf encoder
(`encode_spans`) and converts the message to OTLP/JSON: camelCase names, trace and span ids as
lower-case hex (not protobuf-JSON's base64), 64-bit integers as strings, enums as integers.
One ExportTraceServiceRequest per line.
"""

from __future__ import annotations

import json
from typing import IO, Sequence

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult


def _value(v) -> dict:
    kind = v.WhichOneof("value")
    if kind == "string_value":
        return {"stringValue": v.string_value}
    if kind == "int_value":
        return {"intValue": str(v.int_value)}
    if kind == "double_value":
        return {"doubleValue": v.double_value}
    if kind == "bool_value":
        return {"boolValue": v.bool_value}
    if kind == "array_value":
        return {"arrayValue": {"values": [_value(x) for x in v.array_value.values]}}
    if kind == "kvlist_value":
        return {"kvlistValue": {"values": _attributes(v.kvlist_value.values)}}
    if kind == "bytes_value":
        import base64
        return {"bytesValue": base64.b64encode(v.bytes_value).decode()}
    return {}


def _attributes(kvs) -> list:
    return [{"key": kv.key, "value": _value(kv.value)} for kv in kvs]


def _span(s) -> dict:
    out = {"traceId": s.trace_id.hex(), "spanId": s.span_id.hex()}
    if s.parent_span_id:
        out["parentSpanId"] = s.parent_span_id.hex()
    out["flags"] = s.flags
    out["name"] = s.name
    out["kind"] = s.kind
    out["startTimeUnixNano"] = str(s.start_time_unix_nano)
    out["endTimeUnixNano"] = str(s.end_time_unix_nano)
    out["attributes"] = _attributes(s.attributes)
    if s.events:
        out["events"] = [{"timeUnixNano": str(e.time_unix_nano), "name": e.name,
                          "attributes": _attributes(e.attributes)} for e in s.events]
    if s.links:
        out["links"] = [{"traceId": k.trace_id.hex(), "spanId": k.span_id.hex(),
                         "attributes": _attributes(k.attributes)} for k in s.links]
    status = {}
    if s.status.message:
        status["message"] = s.status.message
    if s.status.code:
        status["code"] = s.status.code
    out["status"] = status
    return out


def request_to_json(request) -> dict:
    """An ExportTraceServiceRequest message as an OTLP/JSON object."""
    return {"resourceSpans": [{
        "resource": {"attributes": _attributes(rs.resource.attributes)},
        "scopeSpans": [{
            "scope": {"name": ss.scope.name, **({"version": ss.scope.version} if ss.scope.version else {})},
            "spans": [_span(s) for s in ss.spans],
        } for ss in rs.scope_spans],
    } for rs in request.resource_spans]}


class OtlpJsonLinesExporter(SpanExporter):
    """Writes each export call as one OTLP/JSON line to an open text stream."""

    def __init__(self, stream: IO[str]):
        self._stream = stream
        self.exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        request = encode_spans(spans)
        self._stream.write(json.dumps(request_to_json(request), separators=(",", ":")) + "\n")
        self.exported += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._stream.flush()
