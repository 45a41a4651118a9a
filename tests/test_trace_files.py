"""Trace export files: the real ones give their span and service counts, parents resolve."""

import json
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest

from collectors.errors import UnreadableSource
from collectors.trace_files import read_trace_file
from models.store import open_store

DATA = Path(__file__).parent / "data" / "trace_files"
TRACES = Path(__file__).resolve().parents[2] / "shared" / "real-data" / "traces"
real = pytest.mark.skipif(not TRACES.exists(), reason="shared real-data/traces not present next to the repository")


def spans(path):
    return pa.concat_tables([b.span for b in read_trace_file(path) if b.span is not None])


@real
@pytest.mark.parametrize("name, n_spans, n_traces, n_services", [
    ("otlp-proto_examples_trace.json", 1, 1, 1),
    ("jaeger_otel_traces_01.json", 4, 2, 1),
    ("jaeger-ui_otlp2jaeger-multi-in-combined.json", 4, 1, 1),
    ("zipkin_smartthings-mobile-web-install.json", 1041, 1, 16),
    ("zipkin_smartthings-oauth-authorization.json", 175, 1, 8),
    ("zipkin_yelp.json", 16, 1, 6),
    ("zipkin_messaging-kafka.json", 28, 1, 2),
])
def test_real_trace_files_import_every_span(name, n_spans, n_traces, n_services):
    t = spans(TRACES / name)
    assert t.num_rows == n_spans
    assert len(set(t["trace_id"].to_pylist())) == n_traces
    assert len(set(t["service"].to_pylist())) == n_services
    store = open_store(":memory:")
    store.ingest(read_trace_file(TRACES / name), name, "trace_file")
    assert store.cursor().execute("SELECT count(*) FROM span").fetchone()[0] == n_spans
    again = store.ingest(read_trace_file(TRACES / name), name, "trace_file")
    assert (again.accepted, again.duplicates) == (0, n_spans)


@real
@pytest.mark.parametrize("name", ["jaeger-ui_otlp2jaeger-multi-in-combined.json",
                                  "zipkin_smartthings-mobile-web-install.json",
                                  "zipkin_smartthings-oauth-authorization.json",
                                  "zipkin_yelp.json", "zipkin_messaging-kafka.json"])
def test_every_parent_exists_in_its_trace(name):
    t = spans(TRACES / name).to_pylist()
    ids = {(s["trace_id"], s["span_id"]) for s in t}
    assert [s for s in t if s["parent_span_id"] and (s["trace_id"], s["parent_span_id"]) not in ids] == []
    assert sum(1 for s in t if s["parent_span_id"] is None) >= 1


@real
def test_zipkin_shared_span_keeps_both_halves():
    t = [s for s in spans(TRACES / "zipkin_yelp.json").to_pylist() if s["name"] == "get" and s["service"] == "spectre"]
    assert len(t) == 1
    server = t[0]
    assert (server["kind"], server["parent_span_id"]) == ("SERVER", "7a778764a0d0b594")
    assert json.loads(server["attributes"])["zipkin.id"] == "7a778764a0d0b594"


def test_jaeger_query_api_file_types_tags_and_links_parents():
    t = spans(DATA / "jaeger_query_api.json").to_pylist()
    root, child = t
    assert (root["trace_id"], root["span_id"], root["parent_span_id"], root["kind"], root["service"]) == (
        "a1b2c3d4e5f60718", "0000000000000001", None, "SERVER", "ap-gateway")
    assert (root["start_time"], root["end_time"]) == (datetime(2023, 11, 14, 22, 13, 20),
                                                      datetime(2023, 11, 14, 22, 13, 20, 2500))
    assert json.loads(root["attributes"]) == {"http.response.status_code": 201, "p2p.object.id": "INV-7",
                                              "retry": True, "ratio": 0.25}
    assert json.loads(root["resource"]) == {"service.name": "ap-gateway", "host.name": "ap1"}
    assert json.loads(root["events"]) == [{"name": "committed", "time": "2023-11-14T22:13:20.001000",
                                           "attributes": {"event": "committed"}}]
    assert (child["parent_span_id"], child["kind"], child["status_code"], child["service"]) == (
        "0000000000000001", "CLIENT", "ERROR", "ap-db")


def test_otlp_file_with_one_request_per_line(tmp_path):
    request = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "erp"}}]},
                                  "scopeSpans": [{"spans": [{"traceId": "0102030405060708090a0b0c0d0e0f10",
                                                             "spanId": "0102030405060708", "name": "post",
                                                             "startTimeUnixNano": "1000", "endTimeUnixNano": "2000"}]}]}]}
    path = tmp_path / "spans.jsonl"
    path.write_text(json.dumps(request) + "\n" + '{"resourceSpans": [' + "\n" +
                    json.dumps(request).replace("0102030405060708\"", "1102030405060708\"") + "\n")
    (batch,) = read_trace_file(path)    # requests go to the store together
    assert batch.span.column("span_id").to_pylist() == ["0102030405060708", "1102030405060708"]
    assert [d["position"] for d in batch.dead_letter.to_pylist()] == ["line 2"]


def test_otlp_lines_are_read_as_they_come_so_memory_follows_a_batch_not_the_file(tmp_path, monkeypatch):
    import tracemalloc

    from collectors import trace_files
    monkeypatch.setattr(trace_files, "SPANS_PER_BATCH", 100)

    def request(i):
        return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{
            "traceId": f"{i:032x}", "spanId": f"{i:016x}", "name": "post " + "x" * 200,
            "startTimeUnixNano": "1000", "endTimeUnixNano": "2000"}]}]}]})

    def peak(lines: int) -> int:
        path = tmp_path / f"{lines}.jsonl"
        path.write_text("".join(request(i) + "\n" for i in range(1, lines + 1)))
        tracemalloc.start()
        spans = sum(b.span.num_rows for b in read_trace_file(path))   # batches of 100 spans
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert spans == lines
        return top

    peak(10)                                  # the decoders' first-use imports, off the figures
    small, large = peak(400), peak(40_000)     # 0.1 MB and 14 MB of requests
    assert large < 3 * small


def test_file_that_is_no_trace_is_unreadable():
    with pytest.raises(UnreadableSource, match="not_a_trace.json: not a trace file"):
        list(read_trace_file(DATA / "not_a_trace.json"))
