"""Pure decoding of OTLP/HTTP trace requests: bytes in, a span batch and rejections out.

Both encodings go through the protobuf message: JSON (ids hex per the OTLP spec, upper case
accepted; base64 accepted where producers emit it) is rewritten to the proto3 JSON mapping and
parsed with `json_format`, so protobuf and JSON requests decode by one path to identical rows.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collectors.errors import BadRequest
from collectors.spans import KINDS, STATUSES, iso_us, span_table, to_json
from models.batches import Batch, dead_letters
from models.vocabulary import SERVICE_NAME

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
CONTENT_TYPES = (PROTOBUF, JSON)
_HEX = re.compile(r"^[0-9a-fA-F]*$")
_ID_KEYS = ("traceId", "spanId", "parentSpanId")


@dataclass
class DecodedTraces:
    """What one request decoded to: the spans that can be stored and those that cannot."""

    batch: Batch
    spans: int = 0                          # spans in the request
    rejected: int = 0                       # spans sent to dead_letter
    messages: list[str] = field(default_factory=list)

    @property
    def error_message(self) -> str:
        """The partial_success error message: the first few reasons."""
        return "; ".join(self.messages[:5])

    message = error_message


def decode_traces(body: bytes, content_type: str, source: str = "otlp") -> DecodedTraces:
    """Decode an ExportTraceServiceRequest body. Raises BadRequest (status 400) if it does not
    decode at all; single bad spans become dead letters (position "span N of request")."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == PROTOBUF:
        request = ExportTraceServiceRequest()
        try:
            request.ParseFromString(body)
        except (DecodeError, ValueError) as exc:
            raise BadRequest(f"body is not a protobuf ExportTraceServiceRequest ({exc})") from exc
    elif kind == JSON:
        request, invalid = parse_json_request(body)
        return decode_request(request, source, invalid)
    else:
        raise BadRequest(f"content type {content_type!r} is not supported; accepted: {', '.join(CONTENT_TYPES)}")
    return decode_request(request, source)


def parse_json_request(body: bytes | str | dict) -> tuple[ExportTraceServiceRequest, dict[int, str]]:
    """An OTLP/JSON ExportTraceServiceRequest (bytes, text or an already parsed dict), and the
    reasons of spans (by 1-based position in the request) whose ids are neither hex nor base64."""
    try:
        doc = body if isinstance(body, dict) else json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"body is not JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise BadRequest("body is JSON but not an object; expected {\"resourceSpans\": [...]}")
    invalid: dict[int, str] = {}
    n = 0
    for rs in doc.get("resourceSpans") or []:
        for ss in (rs or {}).get("scopeSpans") or (rs or {}).get("instrumentationLibrarySpans") or []:
            for span in (ss or {}).get("spans") or []:
                n += 1
                if not isinstance(span, dict):
                    continue
                problem = _ids_to_base64(span)
                for link in span.get("links") or []:
                    if isinstance(link, dict):
                        _ids_to_base64(link)
                if problem:
                    invalid[n] = problem
        if rs and "instrumentationLibrarySpans" in rs and "scopeSpans" not in rs:
            rs["scopeSpans"] = rs.pop("instrumentationLibrarySpans")
    request = ExportTraceServiceRequest()
    try:
        json_format.ParseDict(doc, request, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, AttributeError) as exc:
        raise BadRequest(f"body is not an OTLP/JSON ExportTraceServiceRequest ({exc})") from exc
    return request, invalid


def _ids_to_base64(obj: dict) -> str | None:
    """OTLP/JSON writes ids as hex; the proto3 JSON mapping wants base64. Values that are not
    hex are taken as base64 already; a value that is neither is blanked and its problem returned."""
    problem = None
    for key in _ID_KEYS:
        value = obj.get(key)
        if not isinstance(value, str) or not value:
            continue
        if len(value) % 2 == 0 and _HEX.match(value):
            obj[key] = base64.b64encode(binascii.unhexlify(value)).decode("ascii")
            continue
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            obj[key] = ""
            problem = problem or f"{key} {value!r} is neither hex nor base64"
    return problem


def decode_request(request: ExportTraceServiceRequest, source: str = "otlp",
                   invalid: dict[int, str] | None = None) -> DecodedTraces:
    rows, rejects = [], []
    n = 0
    for rs in request.resource_spans:
        resource = attributes(rs.resource.attributes)
        service = resource.get(SERVICE_NAME)
        for ss in rs.scope_spans:
            scope = ss.scope.name or None
            for span in ss.spans:
                n += 1
                trace_id, span_id = span.trace_id.hex(), span.span_id.hex()
                reason = (invalid or {}).get(n)
                if reason:
                    pass
                elif len(span.trace_id) != 16 or not any(span.trace_id):
                    reason = f"traceId {trace_id!r} is not 16 bytes of which one is non-zero"
                elif len(span.span_id) != 8 or not any(span.span_id):
                    reason = f"spanId {span_id!r} is not 8 bytes of which one is non-zero"
                elif span.parent_span_id and len(span.parent_span_id) != 8:
                    reason = f"parentSpanId {span.parent_span_id.hex()!r} is not 8 bytes"
                if reason:
                    rejects.append((source, f"span {n} of request", json_format.MessageToJson(span, indent=None), reason))
                    continue
                rows.append({
                    "trace_id": trace_id, "span_id": span_id,
                    "parent_span_id": span.parent_span_id.hex() or None,
                    "name": span.name, "kind": KINDS[span.kind] if span.kind < len(KINDS) else str(span.kind),
                    "service": service if isinstance(service, str) else None,
                    "start_us": span.start_time_unix_nano // 1000, "end_us": span.end_time_unix_nano // 1000,
                    "status_code": STATUSES[span.status.code] if span.status.code < len(STATUSES) else str(span.status.code),
                    "status_message": span.status.message or None,
                    "attributes": attributes(span.attributes), "resource": resource, "scope": scope,
                    "events": [{"name": e.name, "time": iso_us(e.time_unix_nano // 1000),
                                "attributes": attributes(e.attributes)} for e in span.events],
                    "links": [{"trace_id": k.trace_id.hex(), "span_id": k.span_id.hex(),
                               **({"trace_state": k.trace_state} if k.trace_state else {}),
                               "attributes": attributes(k.attributes)} for k in span.links],
                })
    batch = Batch(span=span_table(rows), dead_letter=dead_letters(rejects) if rejects else None)
    return DecodedTraces(batch=batch, spans=n, rejected=len(rejects), messages=[r[3] for r in rejects])


def attributes(kvs) -> dict:
    """OTLP KeyValues as a dict, every value keeping its type."""
    return {kv.key: any_value(kv.value) for kv in kvs}


def any_value(v):
    which = v.WhichOneof("value")
    if which is None:
        return None
    if which == "bytes_value":
        return base64.b64encode(v.bytes_value).decode("ascii")
    if which == "array_value":
        return [any_value(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return attributes(v.kvlist_value.values)
    return getattr(v, which)
