"""The long-lived process that owns the store: dashboard, ingest API, OTLP receiver, inbox.

DuckDB lets one process hold a database file, so everything that reads or writes the store runs
here: the Streamlit app is mounted as an ASGI app (`st.App`) beside the ingest API, the OTLP
receiver listens on its own port, and pages read through per-thread cursors. Readers see
committed loads only, so a page open during a large ingest never meets a lock error. The
server file beside the database tells CLI commands in other shells where to send their work
(`/api/<operation>`, see app/operations.py).
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import tomllib
import webbrowser
from contextlib import nullcontext
from pathlib import Path

import streamlit as st
from streamlit import config as st_config
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app import data, operations
from app.inbox import watch_inbox
from app.operations import EXIT_STORE, EXIT_USAGE
from app.server_file import announced
from collectors.otlp_workers import DecodingPool
from collectors.receiver import TRACES_PATH, ReceiverConfig, traces_route
from models.queries import execute
from models.settings import Settings
from models.store import Store, StoreError
from models.write_queue import WriteQueue

DASHBOARD = Path(__file__).with_name("dashboard.py")
STREAMLIT_CONFIG = Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml"


# A served dashboard does not reload itself when a source file is edited (that is `streamlit run`'s
# development loop): the watcher walked every loaded module's path whenever a page run imported
# something new, most of a second on a page's first visit.
SERVED = {"server.fileWatcherType": "none"}


def apply_streamlit_config(path: Path = STREAMLIT_CONFIG) -> None:
    """Apply the project's theme and settings wherever `p2pobs` is started from.

    Streamlit looks for `.streamlit/config.toml` in the working directory only; this passes the
    project's file to it the way `streamlit run` passes command-line flags.
    """
    doc = tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    flags = {f"{section}.{option}": value for section, options in doc.items() for option, value in options.items()}
    st_config.get_config_options(force_reparse=True, options_from_flags={**flags, **SERVED})


def dashboard_app(store: Store) -> st.App:
    """The dashboard with the ingest API beside it, over `store`."""
    apply_streamlit_config()
    data.use_store(store)
    _import_what_pages_use()

    async def operation(request: Request) -> JSONResponse:
        """`POST /api/<operation>` with the operation's parameters as a JSON object (or GET with
        none): what the CLI runs in another shell while this process owns the store."""
        name = request.path_params["operation"]
        try:
            params = await request.json() if request.method == "POST" else {}
        except ValueError:
            params = None
        if not isinstance(params, dict):
            return _refusal("the body must be a JSON object of the operation's parameters", EXIT_USAGE, 400)
        try:
            return JSONResponse(await run_in_threadpool(operations.run_here, store, name, params))
        except operations.Refused as exc:
            return _refusal(str(exc), exc.exit_status, 404 if name not in operations.OPERATIONS else 400)
        except StoreError as exc:
            return _refusal(str(exc), EXIT_STORE, 503)

    return st.App(str(DASHBOARD), routes=[Route("/api/{operation}", operation, methods=["GET", "POST"])])


def _import_what_pages_use() -> None:
    """Import now what the pages import on first use, not during a first visitor's page: pm4py
    takes about two seconds, plotly most of one (and its first figures half of one more). Then
    hide what is loaded so far from the garbage collector: Streamlit runs a full collection after
    every page run (runner.postScriptGC), which walked every object of these modules each time
    (about 0.3 s a page). Last, fill inspect's cache of which file is which module: the first
    element a page draws in this process has Streamlit look up its caller's module
    (env_util.is_repl), which resolved the path of every loaded module (half a second)."""
    from app import charts
    from models.discovery import quiet_pm4py

    quiet_pm4py()
    charts.warm_up()
    inspect.stack()
    gc.freeze()


def _refusal(message: str, exit_status: int, http_status: int) -> JSONResponse:
    return JSONResponse({"error": message, "exit_status": exit_status}, status_code=http_status)


def receiver_app(writer: WriteQueue, settings: Settings, decoder: DecodingPool) -> Starlette:
    config = ReceiverConfig(max_request_bytes=settings.max_request_bytes, token=settings.otlp_token or None)
    return Starlette(routes=[traces_route(writer.submit, config, decoder.decode)])


def dashboard_url(settings: Settings) -> str:
    host = "localhost" if settings.host in ("127.0.0.1", "0.0.0.0", "::") else settings.host
    return f"http://{host}:{settings.port}"


def serve(store: Store, settings: Settings, *, dashboard: bool = True, receiver: bool = True,
          open_browser: bool = False) -> None:
    """Serve until interrupted; prints where once every server listens."""
    writer = WriteQueue(store, source=f"otlp {TRACES_PATH}", kind="otlp")
    decoder = DecodingPool() if receiver else None   # decoding leaves this process's GIL
    if receiver and not dashboard and not settings.inbox:
        # Parallel plans cost CPU to split and merge, and the cores are busy with decoding: one
        # DuckDB thread spends ~7% less server CPU per span received (no page or file load waits).
        execute(store.cursor(), "store.one_thread")
    servers, lines = [], []
    if dashboard:
        servers.append(_server(dashboard_app(store), settings.host, settings.port))
        lines.append(f"Dashboard:      {dashboard_url(settings)}")
    if receiver:
        servers.append(_server(receiver_app(writer, settings, decoder), settings.otlp_host, settings.otlp_port))
        lines.append(f"OTLP receiver:  http://{settings.otlp_host}:{settings.otlp_port}{TRACES_PATH}")
    if settings.inbox:
        lines.append(f"Inbox:          {settings.inbox}")
    try:
        with announced(store.path, settings.port) if dashboard else nullcontext():
            asyncio.run(_run(servers, lines, store, settings, open_browser and dashboard))
    finally:
        if decoder is not None:
            decoder.close()
        writer.close()


def _server(app, host: str, port: int) -> uvicorn.Server:
    return uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))


async def _run(servers, lines, store, settings, open_browser) -> None:
    tasks = [asyncio.create_task(s.serve()) for s in servers]
    while not all(s.started for s in servers):
        if any(t.done() for t in tasks):   # a server failed to start (port in use, …)
            break
        await asyncio.sleep(0.05)
    else:
        print("\n".join(lines) + "\n(Ctrl+C to stop)", flush=True)
        if open_browser:
            webbrowser.open(dashboard_url(settings))
        if settings.inbox:
            tasks.append(asyncio.create_task(watch_inbox(store, Path(settings.inbox))))
    # uvicorn gives Ctrl+C to one server only: when any stops, stop them all.
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for s in servers:
        s.should_exit = True
    for t in pending:
        if t in tasks[len(servers):]:
            t.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for t in done:
        if not t.cancelled() and t.exception() and not isinstance(t.exception(), SystemExit):
            raise t.exception()
    if any(not s.started for s in servers):
        raise SystemExit("a server could not start (is the port in use?)")
