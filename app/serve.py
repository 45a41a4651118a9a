"""The long-lived process that owns the store and serves the dashboard.

DuckDB lets one process hold a database file, so the dashboard runs inside the owner: the
Streamlit app is mounted as an ASGI app (`st.App`) next to the project's own routes, and pages
read the same store through per-thread cursors. They see committed loads only, never a lock error.
"""

from __future__ import annotations

import threading
import webbrowser
from pathlib import Path

import streamlit as st
import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app import data
from models import health
from models.settings import Settings
from models.store import Store

DASHBOARD = Path(__file__).with_name("dashboard.py")


def dashboard_app(store: Store) -> st.App:
    data.use_store(store)

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse(health.counts(store.cursor()))

    return st.App(str(DASHBOARD), routes=[Route("/api/stats", stats)])


def url(settings: Settings) -> str:
    host = "localhost" if settings.host in ("127.0.0.1", "0.0.0.0", "::") else settings.host
    return f"http://{host}:{settings.port}"


def serve(store: Store, settings: Settings, *, open_browser: bool = False) -> None:
    """Serve until interrupted. Prints the URL once the server listens."""
    server = uvicorn.Server(uvicorn.Config(
        dashboard_app(store), host=settings.host, port=settings.port, log_level="warning",
    ))

    def announce() -> None:
        while not server.started and not server.should_exit:
            threading.Event().wait(0.1)
        if server.started:
            print(f"Dashboard: {url(settings)}  (Ctrl+C to stop)", flush=True)
            if open_browser:
                webbrowser.open(url(settings))

    threading.Thread(target=announce, daemon=True).start()
    server.run()
