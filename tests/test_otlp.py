"""OTLP decoding: protobuf and JSON of one request give identical rows."""

import json
from pathlib import Path

import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from collectors.errors import BadRequest
from collectors.otlp import decode_traces
from models.vocabulary import OBJECT_ID

TRACES = Path(__file__).resolve().parents[2] / "shared" / "real-data" / "traces"


def sdk_request():
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "middleware"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("p2p.tests")
    with tracer.start_as_current_span("send po", kind=SpanKind.PRODUCER) as parent:
        parent.set_attribute(OBJECT_ID, "PO-4500012345")
        parent.set_attribute("retries", 2)
        parent.set_attribute("ratio", 0.5)
        parent.set_attribute("ok", True)
        parent.set_attribute("hops", ["erp", "ap"])
        parent.add_event("queued", {"depth": 3})
        with tracer.start_as_current_span("write ap", kind=SpanKind.CLIENT) as child:
            child.set_status(Status(StatusCode.ERROR, "timeout"))
    return encode_spans(exporter.get_finished_spans())


def to_otlp_json(request) -> bytes:
    doc = json_format.MessageToDict(request)
    for rs in doc["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        import base64
                        span[key] = base64.b64decode(span[key]).hex().upper()
    return json.dumps(doc).encode()


def test_protobuf_and_json_of_one_request_decode_to_identical_tables():
    request = sdk_request()
    from_proto = decode_traces(request.SerializeToString(), "application/x-protobuf")
    from_json = decode_traces(to_otlp_json(request), "application/json; charset=utf-8")
    assert from_proto.batch.span.equals(from_json.batch.span)
    rows = {r["name"]: r for r in from_proto.batch.span.to_pylist()}
    parent, child = rows["send po"], rows["write ap"]
    assert child["parent_span_id"] == parent["span_id"] and parent["parent_span_id"] is None
    assert (parent["kind"], parent["service"], parent["scope"]) == ("PRODUCER", "middleware", "p2p.tests")
    assert (child["kind"], child["status_code"], child["status_message"]) == ("CLIENT", "ERROR", "timeout")
    assert json.loads(parent["attributes"]) == {OBJECT_ID: "PO-4500012345", "retries": 2, "ratio": 0.5,
                                                "ok": True, "hops": ["erp", "ap"]}
    assert [(e["name"], e["attributes"]) for e in json.loads(parent["events"])] == [("queued", {"depth": 3})]


@pytest.mark.skipif(not TRACES.exists(), reason="shared real-data/traces not present next to the repository")
def test_canonical_example_upper_case_ids_become_lower_case():
    decoded = decode_traces((TRACES / "otlp-proto_examples_trace.json").read_bytes(), "application/json")
    [span] = decoded.batch.span.to_pylist()
    assert (span["trace_id"], span["span_id"], span["parent_span_id"]) == (
        "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", "eee19b7ec3c1b173")
    assert (span["kind"], span["service"], span["scope"], span["status_code"]) == ("SERVER", "my.service", "my.library", "UNSET")


@pytest.mark.skipif(not TRACES.exists(), reason="shared real-data/traces not present next to the repository")
def test_every_attribute_type_is_kept():
    decoded = decode_traces((TRACES / "jaeger_otel_traces_01.json").read_bytes(), "application/json")
    first = decoded.batch.span.to_pylist()[0]
    assert json.loads(first["attributes"]) == {"peer.service": "service-y", "peer.ipv4": 23456,
                                               "blob": "AAAwOQ==", "temperature": 72.5}
    assert json.loads(first["links"])[0] == {"trace_id": "00000000000000010000000000000000",
                                             "span_id": "0000000000000004",
                                             "attributes": {"opentracing.ref_type": "follows_from"}}


def test_base64_ids_are_accepted():
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "AQIDBAUGBwgJCgsMDQ4PEA==", "spanId": "AQIDBAUGBwg=",
                                                          "name": "x", "startTimeUnixNano": "1", "endTimeUnixNano": "2"}]}]}]}
    [span] = decode_traces(json.dumps(body).encode(), "application/json").batch.span.to_pylist()
    assert (span["trace_id"], span["span_id"]) == ("0102030405060708090a0b0c0d0e0f10", "0102030405060708")


def test_span_with_invalid_id_is_rejected_alone():
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": "00000000000000000000000000000000", "spanId": "0102030405060708", "name": "bad"},
        {"traceId": "0102030405060708090a0b0c0d0e0f10", "spanId": "0102030405060708", "name": "good"}]}]}]}
    decoded = decode_traces(json.dumps(body).encode(), "application/json")
    assert (decoded.spans, decoded.rejected, decoded.batch.span.num_rows) == (2, 1, 1)
    assert decoded.batch.dead_letter.to_pylist()[0]["position"] == "span 1 of request"
    assert "traceId '00000000000000000000000000000000'" in decoded.error_message


@pytest.mark.parametrize("body, content_type", [(b"\x0a\xff\xff", "application/x-protobuf"),
                                                 (b"{not json", "application/json"),
                                                 (b"{}", "text/plain")])
def test_undecodable_body_is_a_bad_request(body, content_type):
    with pytest.raises(BadRequest) as info:
        decode_traces(body, content_type)
    assert info.value.status == 400


def _request_with(spans):
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    return ExportTraceServiceRequest(resource_spans=[{"scope_spans": [{"spans": spans}]}])


def _string(key, value):
    return {"key": key, "value": {"string_value": value}}


def test_repeated_attribute_key_keeps_its_last_value_in_both_encodings():
    ids = {"trace_id": bytes(range(1, 17)), "span_id": bytes(range(1, 9))}
    request = _request_with([{**ids, "name": "x", "attributes": [_string("a", "1"), _string("b", "2"), _string("a", "3")]},
                             {**ids, "span_id": bytes(range(2, 10)), "name": "y", "attributes": [_string("a", "1")]}])
    from_proto = decode_traces(request.SerializeToString(), "application/x-protobuf").batch.span
    from_json = decode_traces(to_otlp_json(request), "application/json").batch.span
    assert from_proto.column("attributes").to_pylist() == ['{"a":"3","b":"2"}', '{"a":"1"}']
    assert from_proto.equals(from_json)


def test_protobuf_span_with_invalid_id_keeps_its_attributes_in_the_dead_letter():
    request = _request_with([{"trace_id": bytes(16), "span_id": bytes(range(1, 9)), "name": "bad",
                              "attributes": [_string("p2p.object.id", "PO-1")]}])
    decoded = decode_traces(request.SerializeToString(), "application/x-protobuf")
    assert (decoded.spans, decoded.rejected, decoded.batch.span.num_rows) == (1, 1, 0)
    raw = json.loads(decoded.batch.dead_letter.to_pylist()[0]["raw"])
    assert raw["attributes"] == [{"key": "p2p.object.id", "value": {"stringValue": "PO-1"}}]


def test_attribute_key_that_is_not_utf8_is_a_bad_request():
    ids = {"trace_id": bytes(range(1, 17)), "span_id": bytes(range(1, 9))}
    body = _request_with([{**ids, "name": "x", "attributes": [_string("k", "v")]}]).SerializeToString()
    with pytest.raises(BadRequest) as info:
        decode_traces(body.replace(b"\n\x01k", b"\n\x01\xff"), "application/x-protobuf")
    assert info.value.status == 400
