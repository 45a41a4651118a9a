"""OTLP decoding in worker processes: request bytes in, Arrow IPC out.

Decoding is per-span Python work that holds the GIL for about a core at the receiver's target
rate, and the writer (group commits, the derived catch-up) needs the rest of the process. Worker
processes give the decoding its own interpreters: the receiver's process only moves bytes —
the body to a worker, the span and dead-letter tables back as Arrow IPC streams, read without
copying. What a worker returns is exactly what `decode_traces` returns in this process.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import types
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

import pyarrow as pa

from collectors.otlp import PROTOBUF, DecodedTraces, decode_traces
from models.batches import Batch

log = logging.getLogger(__name__)


def default_workers() -> int:
    """One worker per core, at most four: more only wait for the writer. (One worker on 2 cores
    used a little less CPU per span but lost throughput whenever another process was busy.)"""
    return max(1, min(4, os.cpu_count() or 1))


class DecodingPool:
    """`decode(body, content_type)` like `decode_traces`, run in worker processes."""

    def __init__(self, workers: int | None = None, source: str = "otlp"):
        self._workers = workers or default_workers()
        self._source = source
        self._lock = threading.Lock()
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        # "spawn": the receiver's process runs DuckDB and server threads, which a fork would copy
        # in whatever state they are in.
        with _main_set_aside():
            pool = ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=exit_with_parent)
            # Start every worker now (each submit while none is idle starts one; a second or two
            # of imports), not on the first requests.
            starting = [pool.submit(decode_to_ipc, b"", PROTOBUF, self._source) for _ in range(self._workers)]
        for started in starting:
            started.result()
        return pool

    def decode(self, body: bytes, content_type: str) -> DecodedTraces:
        """Decode in a worker; raises BadRequest as `decode_traces` does. A worker that died
        (killed, out of memory) is replaced and this request decoded here instead."""
        pool = self._pool
        try:
            shipped = pool.submit(decode_to_ipc, body, content_type, self._source).result()
        except BrokenProcessPool:
            log.warning("an OTLP decoding worker died; starting new workers")
            with self._lock:
                if self._pool is pool:
                    self._pool = self._start()
                    pool.shutdown(wait=False, cancel_futures=True)
            return decode_traces(body, content_type, self._source)
        return from_ipc(shipped)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def exit_with_parent() -> None:
    """In a worker: end when the receiver's process ends, even killed (a clean stop shuts the
    workers down; a killed one would otherwise leave them waiting for work forever). Ctrl+C
    reaches the whole process group: the receiver stops its workers itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()

    def watch():
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)

    if parent is not None:
        threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


@contextmanager
def _main_set_aside():
    """A spawned worker first re-imports its parent's __main__ from that file. In a process that
    serves the dashboard, __main__ is the last page Streamlit ran (it installs each page as
    __main__), which must not run in a worker; workers need nothing from __main__."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def decode_to_ipc(body: bytes, content_type: str, source: str) -> tuple:
    """In a worker: the decoded request with its tables as Arrow IPC streams."""
    decoded = decode_traces(body, content_type, source)
    batch = decoded.batch
    return (_ipc(batch.span), _ipc(batch.dead_letter), decoded.spans, decoded.rejected, decoded.messages)


def from_ipc(shipped: tuple) -> DecodedTraces:
    span, dead_letter, spans, rejected, messages = shipped
    return DecodedTraces(batch=Batch(span=_table(span), dead_letter=_table(dead_letter)),
                         spans=spans, rejected=rejected, messages=messages)


def _ipc(table: pa.Table | None) -> pa.Buffer | None:
    if table is None:
        return None
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _table(buffer: pa.Buffer | None) -> pa.Table | None:
    return None if buffer is None else pa.ipc.open_stream(buffer).read_all()
