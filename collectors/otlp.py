"""Pure decoding of OTLP/HTTP trace requests: bytes in, a span batch and rejections out.

One decoding core for both encodings and for OTLP/JSON files: a walker over the request —
protobuf messages, or for JSON the parsed dicts as they are (no detour through the proto3 JSON
mapping) — appends one row tuple per span, and `spans.span_table` builds the columns at once.
Both walkers check ids and map values by the same rules, so protobuf and JSON of one request
decode to identical tables. Ids are lower-case hex; JSON ids may be hex in either case (the
OTLP rule) or base64 (what some producers emit). A span with a bad id is rejected alone.

Per span, the Python work is a handful of field reads and one join: protobuf span attributes
are read as the raw bytes of each KeyValue (a message class whose Span declares them `bytes`, wire
compatible), and each distinct KeyValue is decoded and JSON-encoded once, then found by its bytes
(attribute values repeat: the service's, the event's on every span of its trace). Everything per
request (resource, scope) is done once per resource or scope.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from json.encoder import encode_basestring

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.message import DecodeError
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from collectors.errors import BadRequest
from collectors.spans import EMPTY_LIST, KINDS, STATUSES, iso_us, span_table, to_json
from models.batches import Batch, dead_letters
from models.vocabulary import SERVICE_NAME

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
CONTENT_TYPES = (PROTOBUF, JSON)

_HEX = re.compile(r"^[0-9a-fA-F]*$")
_KIND = dict(enumerate(KINDS))
_STATUS = dict(enumerate(STATUSES))
# enum names the proto3 JSON mapping allows in place of the numbers
_KIND_NAMES = {f"SPAN_KIND_{k}": i for i, k in enumerate(KINDS)}
_STATUS_NAMES = {f"STATUS_CODE_{s}": i for i, s in enumerate(STATUSES)}
_ZERO_TRACE, _ZERO_SPAN = bytes(16), bytes(8)


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
        try:   # an attribute is parsed when first met: it too can fail to decode
            return decode_request(RawAttributeTraces.FromString(body), source)
        except (DecodeError, ValueError) as exc:
            raise BadRequest(f"body is not a protobuf ExportTraceServiceRequest ({exc})") from exc
    if kind == JSON:
        try:
            doc = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadRequest(f"body is not JSON ({exc})") from exc
        return decode_json_request(doc, source)
    raise BadRequest(f"content type {content_type!r} is not supported; accepted: {', '.join(CONTENT_TYPES)}")


def _decoded(rows: list[tuple], rejects: list[tuple], n: int) -> DecodedTraces:
    batch = Batch(span=span_table(rows), dead_letter=dead_letters(rejects) if rejects else None)
    return DecodedTraces(batch=batch, spans=n, rejected=len(rejects), messages=[r[3] for r in rejects])


def _id_problem(trace_id: bytes, span_id: bytes, parent: bytes) -> str | None:
    if len(trace_id) != 16 or trace_id == _ZERO_TRACE:
        return f"traceId {trace_id.hex()!r} is not 16 bytes of which one is non-zero"
    if len(span_id) != 8 or span_id == _ZERO_SPAN:
        return f"spanId {span_id.hex()!r} is not 8 bytes of which one is non-zero"
    if parent and len(parent) != 8:
        return f"parentSpanId {parent.hex()!r} is not 8 bytes"
    return None


# -- protobuf ----------------------------------------------------------------------------------
def _raw_attribute_traces():
    """The message class of a trace request whose spans' attributes are `repeated bytes`: each
    KeyValue's encoding, unparsed. (TracesData is wire-compatible with ExportTraceServiceRequest.)"""
    pool = descriptor_pool.DescriptorPool()
    for module in (common_pb2, resource_pb2, trace_pb2):
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        if module is trace_pb2:
            span = next(m for m in proto.message_type if m.name == "Span")
            attributes = next(f for f in span.field if f.name == "attributes")
            attributes.type = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
            attributes.ClearField("type_name")
        pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("opentelemetry.proto.trace.v1.TracesData"))


RawAttributeTraces = _raw_attribute_traces()

# A KeyValue's bytes -> its JSON member ('"key":value') and its key. Bounded: cleared when full
# (the next spans fill it again with the values that recur).
_MEMBER: dict[bytes, str] = {}
_KEY: dict[bytes, str] = {}
_MAX_MEMBERS = 50_000


def decode_request(request, source: str = "otlp") -> DecodedTraces:
    """The spans of a parsed protobuf request (a `RawAttributeTraces`)."""
    rows, rejects = [], []
    append = rows.append
    n = 0
    for rs in request.resource_spans:
        resource = proto_attributes(rs.resource.attributes)
        service = resource.get(SERVICE_NAME)
        service = service if isinstance(service, str) else None
        resource = to_json(resource)
        for ss in rs.scope_spans:
            scope = ss.scope.name or None
            for span in ss.spans:
                n += 1
                trace_id, span_id, parent = span.trace_id, span.span_id, span.parent_span_id
                if (len(trace_id) != 16 or trace_id == _ZERO_TRACE or len(span_id) != 8
                        or span_id == _ZERO_SPAN or (parent and len(parent) != 8)):
                    reason = _id_problem(trace_id, span_id, parent)
                    as_sent = trace_pb2.Span.FromString(span.SerializeToString())
                    rejects.append((source, f"span {n} of request", json_format.MessageToJson(as_sent, indent=None), reason))
                    continue
                kind, status, events, links = span.kind, span.status, span.events, span.links
                code = status.code
                append((trace_id.hex(), span_id.hex(), parent.hex() if parent else None, span.name,
                        _KIND.get(kind) or str(kind), service,
                        span.start_time_unix_nano // 1000, span.end_time_unix_nano // 1000,
                        _STATUS.get(code) or str(code), status.message or None,
                        raw_attributes_json(span.attributes), resource, scope,
                        _proto_events(events) if events else EMPTY_LIST,
                        _proto_links(links) if links else EMPTY_LIST))
    return _decoded(rows, rejects, n)


def raw_attributes_json(raw) -> str:
    """KeyValues given as their encodings, as the JSON text `to_json(proto_attributes(...))`
    gives for them parsed."""
    raw = list(raw)   # each element read from the message once: reading one makes its bytes
    members = list(map(_MEMBER.get, raw))
    if None in members:   # values not met before (a new event's id: one span in four here)
        if len(_MEMBER) >= _MAX_MEMBERS:
            _MEMBER.clear()
            _KEY.clear()
            members = [None] * len(raw)
        members = [m or _learn(kv) for m, kv in zip(members, raw)]
    if len(members) > 1 and len(set(map(_KEY.__getitem__, raw))) < len(members):
        # a key repeated: as in a dict, one member per key, the last value
        return to_json(proto_attributes([common_pb2.KeyValue.FromString(kv) for kv in raw]))
    return "{" + ",".join(members) + "}"


def _learn(raw: bytes) -> str:
    kv = common_pb2.KeyValue.FromString(raw)
    key, s = kv.key, kv.value.string_value
    # a string value (the common case) encoded as the JSON encoder does, without its dict
    member = f"{encode_basestring(key)}:{encode_basestring(s)}" if s else to_json(proto_attributes((kv,)))[1:-1]
    _MEMBER[raw], _KEY[raw] = member, key
    return member


def proto_attributes(kvs) -> dict:
    """OTLP KeyValues as a dict, every value keeping its type."""
    out = {}
    for kv in kvs:
        v = kv.value
        s = v.string_value          # the common case: a non-empty string is a string value
        out[kv.key] = s if s else any_value(v)
    return out


def any_value(v):
    which = v.WhichOneof("value")
    if which is None:
        return None
    if which == "bytes_value":
        return base64.b64encode(v.bytes_value).decode("ascii")
    if which == "array_value":
        return [any_value(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return proto_attributes(v.kvlist_value.values)
    return getattr(v, which)


def _proto_events(events) -> str:
    return to_json([{"name": e.name, "time": iso_us(e.time_unix_nano // 1000),
                     "attributes": proto_attributes(e.attributes)} for e in events])


def _proto_links(links) -> str:
    return to_json([{"trace_id": k.trace_id.hex(), "span_id": k.span_id.hex(),
                     **({"trace_state": k.trace_state} if k.trace_state else {}),
                     "attributes": proto_attributes(k.attributes)} for k in links])


# -- JSON --------------------------------------------------------------------------------------
def decode_json_request(doc, source: str = "otlp") -> DecodedTraces:
    """The spans of an OTLP/JSON request already parsed by `json.loads` (a request body, or one
    line of a Collector file export). Raises BadRequest if it is not shaped like one."""
    if not isinstance(doc, dict):
        raise BadRequest("body is JSON but not an object; expected {\"resourceSpans\": [...]}")
    try:
        return _json_request(doc, source)
    except (TypeError, ValueError, AttributeError, KeyError, binascii.Error) as exc:
        raise BadRequest(f"body is not an OTLP/JSON ExportTraceServiceRequest ({exc!r})") from exc


def _json_request(doc: dict, source: str) -> DecodedTraces:
    rows, rejects = [], []
    append = rows.append
    n = 0
    for rs in doc.get("resourceSpans") or ():
        rs = rs or {}
        resource = json_attributes(((rs.get("resource") or {}).get("attributes")))
        service = resource.get(SERVICE_NAME)
        service = service if isinstance(service, str) else None
        resource = to_json(resource)
        for ss in rs.get("scopeSpans") or rs.get("instrumentationLibrarySpans") or ():
            ss = ss or {}
            scope = (ss.get("scope") or ss.get("instrumentationLibrary") or {}).get("name") or None
            for span in ss.get("spans") or ():
                n += 1
                get = span.get
                trace_id, span_id, parent = get("traceId"), get("spanId"), get("parentSpanId")
                if not _lower_hex_ids(trace_id, span_id, parent):
                    ids, reason = _json_ids(span)
                    if reason is None:
                        reason = _id_problem(*ids)
                    if reason:
                        rejects.append((source, f"span {n} of request", to_json(span), reason))
                        continue
                    trace_id, span_id, parent = (i.hex() for i in ids)
                kind, status = get("kind") or 0, get("status") or {}
                code = status.get("code") or 0
                if type(kind) is not int:
                    kind = _KIND_NAMES.get(kind, kind)
                if type(code) is not int:
                    code = _STATUS_NAMES.get(code, code)
                attrs, events, links = get("attributes"), get("events"), get("links")
                append((trace_id, span_id, parent or None, get("name") or "",
                        _KIND.get(kind) or str(kind), service,
                        int(get("startTimeUnixNano") or 0) // 1000, int(get("endTimeUnixNano") or 0) // 1000,
                        _STATUS.get(code) or str(code), status.get("message") or None,
                        to_json(json_attributes(attrs)) if attrs else "{}", resource, scope,
                        _json_events(events) if events else EMPTY_LIST,
                        _json_links(links) if links else EMPTY_LIST))
    return _decoded(rows, rejects, n)


def _lower_hex_ids(trace_id, span_id, parent) -> bool:
    """The common case, checked fast: valid ids already in lower-case hex."""
    try:
        t, s = bytes.fromhex(trace_id), bytes.fromhex(span_id)
        return (len(t) == 16 and len(s) == 8 and t != _ZERO_TRACE and s != _ZERO_SPAN
                and t.hex() == trace_id and s.hex() == span_id
                and (not parent or (len(parent) == 16 and bytes.fromhex(parent).hex() == parent)))
    except (TypeError, ValueError):
        return False


def _json_ids(span: dict) -> tuple[tuple[bytes, bytes, bytes], str | None]:
    """The ids of a JSON span or link as bytes, and the problem of the first that is neither hex
    nor base64 (it then counts as empty)."""
    out, problem = [], None
    for key in ("traceId", "spanId", "parentSpanId"):
        value, error = _json_id(span.get(key))
        out.append(value)
        if error and problem is None:
            problem = f"{key} {span.get(key)!r} {error}"
    return tuple(out), problem


def _json_id(value) -> tuple[bytes, str | None]:
    if not value:
        return b"", None
    if not isinstance(value, str):
        return b"", "is not a string"
    if len(value) % 2 == 0 and _HEX.match(value):
        return bytes.fromhex(value), None
    try:
        return base64.b64decode(value, validate=True), None
    except (binascii.Error, ValueError):
        return b"", "is neither hex nor base64"


def json_attributes(kvs) -> dict:
    """OTLP/JSON KeyValues as a dict, every value keeping its type, as `proto_attributes` does."""
    out = {}
    for kv in kvs or ():
        v = kv.get("value")
        if v:
            s = v.get("stringValue")
            out[kv.get("key") or ""] = s if s else json_value(v)
        else:
            out[kv.get("key") or ""] = None
    return out


def json_value(v: dict):
    """One OTLP/JSON AnyValue as the Python value its protobuf form decodes to."""
    for which, x in v.items():
        if x is None:
            continue
        if which == "stringValue":
            return x if isinstance(x, str) else str(x)
        if which == "intValue":
            return int(x)
        if which == "doubleValue":
            return float(x)
        if which == "boolValue":
            return x if isinstance(x, bool) else x == "true"
        if which == "bytesValue":   # normalised the way the protobuf path encodes bytes
            return base64.b64encode(base64.b64decode(x + "=" * (-len(x) % 4), altchars=b"-_"
                                                     if ("-" in x or "_" in x) else None)).decode("ascii")
        if which == "arrayValue":
            return [json_value(e) if e else None for e in (x.get("values") or ())]
        if which == "kvlistValue":
            return json_attributes(x.get("values"))
    return None


def _json_events(events) -> str:
    return to_json([{"name": e.get("name") or "", "time": iso_us(int(e.get("timeUnixNano") or 0) // 1000),
                     "attributes": json_attributes(e.get("attributes"))} for e in events])


def _json_links(links) -> str:
    out = []
    for k in links:
        (trace_id, span_id, _), _ = _json_ids(k)
        out.append({"trace_id": trace_id.hex(), "span_id": span_id.hex(),
                    **({"trace_state": k["traceState"]} if k.get("traceState") else {}),
                    "attributes": json_attributes(k.get("attributes"))})
    return to_json(out)
