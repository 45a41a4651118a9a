"""Receiver throughput: `p2pobs receive` fed pre-encoded OTLP/protobuf requests in parallel.

    .venv/bin/python benchmarks/receiver.py [--spans 300000] [--clients 8] [--prefill 0]

Figures, not pass/fail. The requests are encoded once with the OpenTelemetry SDK's own encoder
(`encode_spans` on SDK spans, as its exporter sends them) and replayed with fresh trace, span and
business-event ids, at times moving on by 10 ms per request, by client threads over keep-alive
connections (the SDK exporter itself manages ~3,500 spans/s per core, see DESIGN.md, so it
cannot load a receiver; 30,000 spans/s is some nine exporters, so try --clients 16 as well).
Everything runs on loopback against a temporary store; every loop is bounded by the span count
and by --seconds. After the last reply the server is stopped cleanly (which lets the derived
tables catch up) and the store is read: spans stored against those acknowledged, and how long
after the last reply the derived tables (sync_hop) had caught up. Also prints decode-only
figures (protobuf and OTLP/JSON, in this process).

The server's CPU time (its process and its decoding workers, from the start of sending to its
exit, so the final catch-up and checkpoint count) per span stored says what the receiver costs
whatever else the machine runs; spans/s on a shared machine depends on the share it gets, so
the load average at the start and end is printed beside it.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from google.protobuf import json_format  # noqa: E402
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import SpanKind  # noqa: E402

from collectors.otlp import decode_traces  # noqa: E402
from models import vocabulary as v  # noqa: E402

PATH = "/v1/traces"
PROTOBUF = "application/x-protobuf"


def sdk_request(n_spans: int, seed: int = 7):
    """One ExportTraceServiceRequest of `n_spans` SDK spans: traces of a publish and its
    deliveries, with the p2p.* attributes and messaging/http conventions of the middleware."""
    rnd = random.Random(seed)
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({
        v.SERVICE_NAME: "procurement-erp-bridge", "service.namespace": "mercy-integration",
        "service.version": "0.2.0", "deployment.environment.name": "benchmark"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("p2p-observatory.benchmark", "0.2.0")
    made = 0
    while made < n_spans:
        po = f"PO-45{rnd.randrange(10**8):08d}"
        common = {v.EVENT_ID: f"erp:{po}-A", v.EVENT_TYPE: "purchase_order.approved",
                  v.OBJECT_TYPE: v.PURCHASE_ORDER, v.OBJECT_ID: po, v.SOURCE_SYSTEM: v.ERP,
                  v.FACILITY_ID: rnd.choice(["MHS-PHX", "MHS-TUC", "MHS-FLG"]),
                  v.SUPPLIER_ID: f"SUP-{rnd.randrange(100000, 100400)}"}
        with tracer.start_as_current_span("erp.purchase_orders publish", kind=SpanKind.PRODUCER,
                                          attributes={**common, v.TARGET_SYSTEM: v.AP,
                                                      "messaging.system": "rabbitmq",
                                                      "messaging.destination.name": "erp.purchase_orders",
                                                      "messaging.operation.type": "publish"}):
            made += 1
            for target in (v.AP, v.SUPPLIER_PORTAL, v.PROCUREMENT)[: min(3, n_spans - made)]:
                with tracer.start_as_current_span(f"POST /api/{target}/purchase-orders", kind=SpanKind.CLIENT,
                                                  attributes={**common, v.TARGET_SYSTEM: target,
                                                              "http.request.method": "POST",
                                                              v.HTTP_STATUS_CODE: rnd.choice([200, 201, 201, 503]),
                                                              "server.address": f"{target}.mercy.example"}):
                    made += 1
    provider.shutdown()
    return encode_spans(exporter.get_finished_spans())


# How far each replay's times move on: 512 spans every 10 ms is 51,200 spans/s of live traffic.
REPLAY_STEP_NS = 10_000_000


def with_fresh_ids(template, replay: int):
    """A copy of `template` whose trace and span ids are new (parents and links follow), whose
    business events are new too (p2p.event.id and p2p.object.id get the replay's number), and
    whose times move on by REPLAY_STEP_NS per replay: each request carries new purchase orders
    at a later time, as live traffic does, rather than re-publishing the same ones hundreds of
    times at one instant (which would make every commit's duplicate search cover every span
    stored so far)."""
    request = template.__class__()
    request.CopyFrom(template)
    rnd = random.Random(replay)
    shift = replay * REPLAY_STEP_NS
    traces, spans = {}, {}
    for rs in request.resource_spans:
        for ss in rs.scope_spans:
            for s in ss.spans:
                s.start_time_unix_nano += shift
                s.end_time_unix_nano += shift
                for e in s.events:
                    e.time_unix_nano += shift
                s.trace_id = traces.setdefault(s.trace_id, rnd.randbytes(16))
                s.span_id = spans.setdefault(s.span_id, rnd.randbytes(8))
                if s.parent_span_id:
                    s.parent_span_id = spans.setdefault(s.parent_span_id, rnd.randbytes(8))
                for kv in s.attributes:
                    if kv.key in (v.EVENT_ID, v.OBJECT_ID):
                        kv.value.string_value = f"{kv.value.string_value}-{replay}"
    return request


def to_otlp_json(request) -> bytes:
    """The OTLP/JSON form of a request (hex ids, as the OTLP specification writes them)."""
    doc = json_format.MessageToDict(request)
    for rs in doc["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for s in ss["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in s:
                        s[key] = base64.b64decode(s[key]).hex()
    return json.dumps(doc).encode()


def decode_figures(template, rounds: int) -> list[tuple[str, float, float]]:
    """(encoding, µs per span of CPU, spans/s wall) of in-process decoding, each round a request
    of new events (the decoder remembers attribute values it has met: one body decoded again
    and again would measure only the values it knows)."""
    requests = [with_fresh_ids(template, -1 - i) for i in range(rounds + 1)]
    bodies = {"protobuf": ([r.SerializeToString() for r in requests], PROTOBUF),
              "json": ([to_otlp_json(r) for r in requests], "application/json")}
    out = []
    for name, (encoded, content_type) in bodies.items():
        n = decode_traces(encoded[0], content_type).spans   # warm up
        cpu, wall = time.thread_time(), time.perf_counter()
        for body in encoded[1:]:
            decode_traces(body, content_type)
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        out.append((name, cpu / (rounds * n) * 1e6, rounds * n / wall))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prefill(db: Path, spans: int) -> None:
    """Put `spans` synthetic spans (over 30 days) into a new store at `db`, as history."""
    from models.store import open_store

    store = open_store(db)
    store.cursor().execute("""
        INSERT INTO span
        SELECT md5('t' || (i // 4)::VARCHAR), substr(md5('s' || i::VARCHAR), 1, 16), NULL,
               'POST /api/ap/purchase-orders', 'CLIENT', 'procurement-erp-bridge',
               TIMESTAMP '2025-01-01' + to_microseconds(i * 5000),
               TIMESTAMP '2025-01-01' + to_microseconds(i * 5000 + 2000),
               'UNSET', NULL, '{"p2p.object.id":"PO-1"}', '{}', 'prefill', '[]', '[]', 'prefill'
        FROM range($n) r(i)""", {"n": spans})
    store.close()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by process `pid` and its live child processes (the
    decoding workers): what the receiver costs whatever else the machine is running."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def stopped_cpu_seconds(server: subprocess.Popen, timeout: float) -> float:
    """Wait for `server` to exit (killing it after `timeout` s); the CPU time it and the child
    processes it waited for used in all."""
    if server.returncode is not None:   # already gone (and reaped)
        return 0.0
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(server.pid, 0 if time.monotonic() > deadline else os.WNOHANG)
        if pid:
            server.returncode = os.waitstatus_to_exitcode(status)
            return usage.ru_utime + usage.ru_stime
        if time.monotonic() > deadline:
            server.kill()
        time.sleep(0.05)


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def run_clients(port: int, bodies: list[bytes], clients: int, seconds: float):
    """POST every body once (retrying 503s) from `clients` threads; returns latencies (s),
    statuses, retries, the wall time and when (epoch s) the last reply came."""
    latencies, statuses, retries, last_reply = [], {}, [0], [0.0]
    lock = threading.Lock()
    nxt = iter(range(len(bodies)))
    deadline = time.perf_counter() + seconds

    def client():
        con = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while time.perf_counter() < deadline:
            with lock:
                i = next(nxt, None)
            if i is None:
                break
            for _attempt in range(50):   # bounded retries of a saturated server
                started = time.perf_counter()
                con.request("POST", PATH, bodies[i], {"Content-Type": PROTOBUF})
                reply = con.getresponse()
                reply.read()
                elapsed = time.perf_counter() - started
                if reply.status != 503:
                    break
                with lock:
                    retries[0] += 1
                time.sleep(float(reply.getheader("Retry-After", "1")) / 10)
            with lock:
                latencies.append(elapsed)
                statuses[reply.status] = statuses.get(reply.status, 0) + 1
                last_reply[0] = max(last_reply[0], time.time())
        con.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, statuses, retries[0], time.perf_counter() - started, last_reply[0]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spans", type=int, default=300_000, help="spans to send (default 300,000)")
    parser.add_argument("--per-request", type=int, default=512, help="spans per request (default 512)")
    parser.add_argument("--clients", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--seconds", type=float, default=60, help="stop sending after this long (default 60)")
    parser.add_argument("--prefill", type=int, default=0, help="spans already in the store (default 0)")
    args = parser.parse_args()

    load_before = os.getloadavg()
    template = sdk_request(args.per_request)
    n_requests = max(1, args.spans // args.per_request)
    print(f"encoding {n_requests} requests of {args.per_request} spans with the SDK encoder …", flush=True)
    bodies = [with_fresh_ids(template, i + 1).SerializeToString() for i in range(n_requests)]

    rows = [("decode " + name, f"{us:.1f} µs/span CPU", f"{rate:,.0f} spans/s")
            for name, us, rate in decode_figures(template, rounds=20)]

    with tempfile.TemporaryDirectory(prefix="p2pobs-bench-") as tmp:
        db = Path(tmp) / "p2p.duckdb"
        if args.prefill:
            print(f"prefilling the store with {args.prefill:,} spans …", flush=True)
            prefill(db, args.prefill)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "receive", "--db", str(db), "--otlp-port", str(port)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
        cpu = 0.0
        try:
            for _ in range(600):   # up to 60 s for the server to listen
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if server.poll() is not None:
                        raise SystemExit(f"p2pobs receive exited:\n{server.stdout.read()}")
                    time.sleep(0.1)
            idle_rss = peak_rss_kib(server.pid)
            print(f"replaying with {args.clients} client threads on port {port} …", flush=True)
            cpu = cpu_seconds(server.pid)
            latencies, statuses, retries, wall, last_reply = run_clients(port, bodies, args.clients, args.seconds)
            peak = peak_rss_kib(server.pid)
        finally:
            # a clean stop commits what is queued and lets the derived tables catch up first
            server.send_signal(signal.SIGINT)
            cpu = stopped_cpu_seconds(server, 60) - cpu

        import duckdb

        con = duckdb.connect(str(db), read_only=True)
        stored = con.sql("SELECT count(*) FROM span").fetchall()[0][0] - args.prefill
        # when the derived tables (sync_hop) last caught up, and whether every load is in them
        derived_seq, caught_up_at = con.sql("SELECT seq, epoch(caught_up_at) FROM derived_through").fetchall()[0]
        loads, hops = con.sql("SELECT (SELECT coalesce(max(seq), 0) FROM ingest_batch), "
                              "(SELECT count(*) FROM sync_hop)").fetchall()[0]
        con.close()

    acked = statuses.get(200, 0) * args.per_request
    rows += [
        ("load average", f"{load_before[0]:.1f} at the start", f"{os.getloadavg()[0]:.1f} at the end (1 min)"),
        ("requests", f"{len(latencies)} sent", f"statuses {statuses}, 503 retries {retries}"),
        ("receiver", f"{acked / wall:,.0f} spans/s", f"{acked:,} spans acknowledged in {wall:.1f} s"),
        ("server CPU", f"{cpu / max(stored, 1) * 1e6:.1f} µs/span", f"{cpu:.1f} s for the run, shutdown and "
         f"catch-up; ceiling {2e6 * max(stored, 1) / max(cpu * 1e6, 1):,.0f} spans/s on 2 cores it kept busy alone"),
        ("latency", f"p50 {percentile(latencies, .5) * 1000:.0f} ms", f"p99 {percentile(latencies, .99) * 1000:.0f} ms"),
        ("server RSS", f"peak {peak / 1024:.0f} MiB", f"idle {idle_rss / 1024:.0f} MiB"),
        ("stored", f"{stored:,} of {acked:,} acknowledged", f"lost {acked - stored:,}"),
        ("derived", f"caught up {max(caught_up_at - last_reply, 0):.2f} s after the last reply",
         f"{derived_seq:,} of {loads:,} loads derived, {hops:,} sync_hop rows"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"\n{args.per_request} spans/request, {args.clients} clients, {os.cpu_count()} CPUs, "
          f"prefill {args.prefill:,} spans")
    for name, a, b in rows:
        print(f"{name:<{width}}  {a:<28} {b}")


if __name__ == "__main__":
    main()
