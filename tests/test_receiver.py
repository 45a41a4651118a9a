"""The OTLP/HTTP receiver over a real loopback socket: the real SDK exporter, raw requests for
every error case, and a crash right after a 200."""

import gzip
import json
import sys
import threading
import time
import types
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import uvicorn
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from starlette.applications import Starlette

from collectors.otlp import decode_traces
from collectors.otlp_workers import DecodingPool
from collectors.receiver import ReceiverConfig, traces_route
from conftest import Server, free_port
from models import health, sync_lag
from models import vocabulary as v
from models.store import open_store
from models.write_queue import Saturated, WriteQueue

TRACE = "5b8efff798038103d269b633813fc60c"


def _send_with_sdk(endpoint: str, n: int, headers: dict | None = None) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "erp-ap-connector"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, headers=headers)))
    tracer = provider.get_tracer("p2p.tests")
    for i in range(n):
        with tracer.start_as_current_span("POST /ap/purchase-orders") as span:
            span.set_attribute("p2p.object.id", f"PO-45000{i:05d}")
            span.set_attribute("http.response.status_code", 201)
    provider.shutdown()


class InProcess:
    """The receiver route on a loopback port, in this process, over a store in tmp."""

    def __init__(self, store, config=ReceiverConfig(), submit=None, decode=decode_traces):
        self.queue = WriteQueue(store, source="otlp", kind="otlp")
        app = Starlette(routes=[traces_route(submit or self.queue.submit, config, decode)])
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1/traces"
        self.server = uvicorn.Server(uvicorn.Config(app, port=self.port, log_level="error"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(10)
        self.queue.close()


@pytest.fixture
def receiver(store):
    r = InProcess(store)
    yield r
    r.stop()


def _post(url, body: bytes, content_type="application/x-protobuf", **headers):
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": content_type, **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, reply.headers, reply.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def _json_request(*spans) -> bytes:
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "ap-gateway"}}]},
        "scopeSpans": [{"scope": {"name": "p2p.tests"}, "spans": list(spans)}],
    }]}).encode()


def _span(span_id: str, trace_id: str = TRACE) -> dict:
    return {"traceId": trace_id, "spanId": span_id, "name": "POST /ap/invoices", "kind": 2,
            "startTimeUnixNano": "1714809600000000000", "endTimeUnixNano": "1714809600250000000"}


def test_sdk_exporter_spans_are_stored_once_even_when_resent(store, receiver):
    _send_with_sdk(receiver.url, 25)
    assert health.counts(store.cursor())["spans"] == 25

    rows = store.cursor().execute(
        "SELECT service, name, kind, attributes->>'$.\"p2p.object.id\"' FROM span ORDER BY 4").fetchall()
    assert rows[0] == ("erp-ap-connector", "POST /ap/purchase-orders", "INTERNAL", "PO-4500000000")

    body = _json_request(_span("eee19b7ec3c1b174"))
    assert _post(receiver.url, body, "application/json")[0] == 200
    assert _post(receiver.url, body, "application/json")[0] == 200   # a retrying client
    assert health.counts(store.cursor())["spans"] == 26


def test_json_and_gzip_requests_are_accepted_and_answered_in_kind(store, receiver):
    status, headers, body = _post(receiver.url, gzip.compress(_json_request(_span("0000000000000001"))),
                                  "application/json", **{"Content-Encoding": "gzip"})
    assert (status, headers["Content-Type"]) == (200, "application/json")
    assert json.loads(body) == {}
    assert health.counts(store.cursor())["spans"] == 1


def test_invalid_spans_are_counted_in_partial_success_and_the_rest_land(store, receiver):
    body = _json_request(_span("0000000000000001"), _span("00000000000002", trace_id="not-hex"))
    status, _, reply = _post(receiver.url, body, "application/json")
    assert status == 200
    answer = json.loads(reply)["partialSuccess"]
    assert answer["rejectedSpans"] == "1"
    assert "traceId" in answer["errorMessage"] or "trace" in answer["errorMessage"].lower()
    counts = health.counts(store.cursor())
    assert (counts["spans"], counts["dead_letters"]) == (1, 1)


def test_requests_decoded_in_worker_processes_are_answered_and_stored_alike(store, tmp_path, monkeypatch):
    # As in `p2pobs serve` once a page has run: Streamlit installs the page as __main__, which a
    # spawned worker would otherwise run first.
    page = tmp_path / "page.py"
    page.write_text('raise SystemExit("a dashboard page ran in a decoding worker")\n')
    main = types.ModuleType("__main__")
    main.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", main)
    pool = DecodingPool(workers=1)
    r = InProcess(store, decode=pool.decode)
    try:
        _send_with_sdk(r.url, 5)
        body = _json_request(_span("0000000000000001"), _span("00000000000002", trace_id="not-hex"))
        replies = [_post(r.url, body, "application/json") for _ in range(2)]   # and a resend
        bad = _post(r.url, b"\xff\xff\xff not protobuf")[0]
    finally:
        r.stop()
        pool.close()
    assert [(status, json.loads(reply)["partialSuccess"]["rejectedSpans"]) for status, _, reply in replies] \
        == [(200, "1"), (200, "1")]
    assert bad == 400
    counts = health.counts(store.cursor())
    assert (counts["spans"], counts["dead_letters"]) == (6, 1)


@pytest.mark.parametrize("content_type, body, encoding, status", [
    ("application/x-protobuf", b"\xff\xff\xff not protobuf", None, 400),
    ("application/json", b"{\"resourceSpans\": [", None, 400),
    ("application/json", b"\x1f\x8b\x08 truncated gzip", "gzip", 400),
    ("text/plain", b"hello", None, 415),
    ("application/json", b"{}", "br", 415),
])
def test_bad_requests_get_the_status_the_otlp_spec_defines(receiver, content_type, body, encoding, status):
    headers = {"Content-Encoding": encoding} if encoding else {}
    code, _, reply = _post(receiver.url, body, content_type, **headers)
    assert code == status
    assert reply   # an explanation, as a google.rpc.Status


def test_oversized_bodies_are_refused_also_after_decompression(store):
    r = InProcess(store, ReceiverConfig(max_request_bytes=64 * 1024))
    try:
        assert _post(r.url, b"x" * (65 * 1024))[0] == 413
        bomb = gzip.compress(b"\0" * (50 * 1024 * 1024))   # 50 MiB inflating from ~50 KiB
        assert len(bomb) < 64 * 1024
        assert _post(r.url, bomb, **{"Content-Encoding": "gzip"})[0] == 413
    finally:
        r.stop()


def test_bearer_token_is_required_when_configured(store):
    r = InProcess(store, ReceiverConfig(token="s3cret"))
    try:
        body = _json_request(_span("0000000000000001"))
        assert _post(r.url, body, "application/json")[0] == 401
        assert _post(r.url, body, "application/json", Authorization="Bearer wrong")[0] == 401
        assert _post(r.url, body, "application/json", Authorization="Bearer s3cret")[0] == 200
        _send_with_sdk(r.url, 3, headers={"Authorization": "Bearer s3cret"})
        assert health.counts(store.cursor())["spans"] == 4
    finally:
        r.stop()


def test_a_saturated_write_path_answers_503_with_retry_after(store):
    def full(batch):
        raise Saturated(retry_after=2)

    r = InProcess(store, submit=full)
    try:
        status, headers, _ = _post(r.url, _json_request(_span("0000000000000001")), "application/json")
        assert (status, headers["Retry-After"]) == (503, "2")
    finally:
        r.stop()


def test_spans_acknowledged_before_a_crash_are_not_lost(tmp_path):
    server = Server(tmp_path, "receive")
    try:
        _send_with_sdk(server.otlp_url, 40)
        workers = _child_processes(server.process.pid)   # the decoding workers
    finally:
        server.process.kill()      # no shutdown: as if the machine lost power after the 200s
        server.process.wait()
    store = open_store(server.db)
    try:
        assert health.counts(store.cursor())["spans"] == 40
    finally:
        store.close()
    for _ in range(100):   # and the workers do not outlive it
        if not any(Path(f"/proc/{pid}").exists() for pid in workers):
            break
        time.sleep(0.1)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]


def _child_processes(pid: int) -> list[int]:
    """Linux: the processes `pid` started (none found elsewhere)."""
    tasks = Path(f"/proc/{pid}/task")
    return [int(c) for t in (tasks.iterdir() if tasks.exists() else ()) for c in (t / "children").read_text().split()]


def _p2p_span(span_id: str, parent: str | None, kind: int, start_s: float, end_s: float, **attrs) -> dict:
    """A span of trace TRACE, `start_s`/`end_s` seconds after 2024-05-04 08:00 UTC."""
    at = lambda s: str(1714809600_000_000_000 + int(s * 1e9))
    return {"traceId": TRACE, "spanId": span_id, **({"parentSpanId": parent} if parent else {}),
            "name": "p2p", "kind": kind, "startTimeUnixNano": at(start_s), "endTimeUnixNano": at(end_s),
            "attributes": [{"key": k, "value": {"intValue": str(x)} if isinstance(x, int) else {"stringValue": x}}
                           for k, x in attrs.items()]}


def test_sync_lag_of_received_spans_is_derived_once_the_requests_are_committed(store):
    event = {v.EVENT_ID: "erp:PO-1-A", v.OBJECT_ID: "PO-1", v.SOURCE_SYSTEM: v.ERP, v.TARGET_SYSTEM: v.AP}
    r = InProcess(store)
    try:   # the publish and the write into AP arrive in two requests, as from two services
        assert _post(r.url, _json_request(_p2p_span("00000000000000a1", None, 4, 0.5, 1, **event)),
                     "application/json")[0] == 200
        assert _post(r.url, _json_request(_p2p_span("00000000000000a2", "00000000000000a1", 3, 30, 32.75,
                                                     **event, **{v.HTTP_STATUS_CODE: 201})),
                     "application/json")[0] == 200
    finally:
        r.stop()   # commits what is queued and lets the derived tables catch up

    hops = sync_lag.hops(store.cursor()).select(["event_id", "target_system", "lag_s", "attempts"]).to_pylist()
    assert hops == [{"event_id": "erp:PO-1-A", "target_system": v.AP, "lag_s": 32.25, "attempts": 1}]
    assert store.data_version() == 2   # both loads derived
