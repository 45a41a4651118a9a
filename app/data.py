"""The dashboard's one door to the store: which store, which viewer scope, and caching.

Every page asks for data through `load`, which caches a `models` function's result keyed by the
store's data version: one committed load refreshes every page at once, and nothing stale is shown.
"""

from __future__ import annotations

import functools
import importlib
from contextlib import contextmanager
from typing import Iterator

import streamlit as st

from models.filters import Filters
from models.store import Store

_store: Store | None = None
_calls: list | None = None     # while `recording`: every (fn, args, keywords) a page asked for


def use_store(store: Store) -> None:
    """Called once by the process that owns the store, before the dashboard serves."""
    global _store
    _store = store


def store() -> Store:
    if _store is None:
        st.error("No store is open. Start the dashboard with `p2pobs dashboard` or `p2pobs demo`.")
        st.stop()
    return _store


def viewer_scope() -> list[str] | None:
    """The facilities this viewer may see; None is all. Access control plugs in here."""
    return None


def data_version() -> int:
    return store().data_version()


def load(fn, *args, filters: Filters | None = None, **options):
    """`fn(cursor, *args, **options)` from models/, cached until the next load lands.

    With `filters`, `fn` also receives them (narrowed to the viewer's scope) as `filters=`.
    """
    keywords = dict(sorted(options.items()))
    if filters is not None:
        keywords["filters"] = filters.within(viewer_scope())
    if _calls is not None:
        _calls.append((fn, args, keywords))
    return _cached()(fn.__module__, fn.__qualname__, data_version(), args, tuple(keywords.items()))


@contextmanager
def recording() -> Iterator[list]:
    """Collect the calls pages make through `load` (fn, args, filters), so a benchmark can time
    exactly what a page asks for, without Streamlit's cache."""
    global _calls
    _calls = []
    try:
        yield _calls
    finally:
        _calls = None


def call(fn, args: tuple, keywords: dict):
    """What `load` computes for one recorded call, uncached."""
    return fn(store().cursor(), *args, **keywords)


def _compute(module: str, name: str, version: int, args: tuple, keywords: tuple):
    return call(getattr(importlib.import_module(module), name), args, dict(keywords))


@functools.cache
def _cached():
    # Made on first use, inside the running app: a cache made at import, before the Streamlit
    # runtime exists, would not belong to it.
    return st.cache_data(max_entries=512, show_spinner=False)(_compute)


def deferred(fn, *args):
    """`fn(cursor, *args)` from models/, run only when called: a download button's data, made
    when the viewer clicks rather than on every page view."""
    owner = store()
    return lambda: fn(owner.cursor(), *args)
