"""Named SQL blocks, read from `models/sql/<concern>.sql`.

Each file holds blocks that start with a `-- name: <block>` line; a query is asked for as
`"<concern>.<block>"`. Values are always bound as parameters; the files run unchanged in the
duckdb CLI.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

SQL_DIR = Path(__file__).with_name("sql")
_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


@functools.cache
def _blocks(concern: str) -> dict[str, str]:
    text = (SQL_DIR / f"{concern}.sql").read_text(encoding="utf-8")
    parts = _NAME.split(text)
    return {name: body.strip().rstrip(";") for name, body in zip(parts[1::2], parts[2::2])}


def table(con, name: str, **params):
    """Run block `name` with `params` bound; the result as a pyarrow Table.

    Only the parameters the block uses are bound, so every question can be handed a whole
    `Filters.params()` and take what applies at its grain.
    """
    query = sql(name)
    return con.sql(query, params=bind(query, params)).to_arrow_table()


def composed_table(con, name: str, **params):
    """`table` for a block that reads other blocks of its file by name (`composed`)."""
    query = composed(name)
    return con.sql(query, params=bind(query, params)).to_arrow_table()


def execute(con, name: str, **params) -> None:
    """Run statement `name` (a refresh step: no result wanted)."""
    query = sql(name)
    con.execute(query, bind(query, params) or {})


def scalar(con, name: str, **params):
    """Run block `name`; its single value. (Fetches the whole result: DuckDB 2.0 refuses new
    work on a cursor whose last result was not read to the end.)"""
    query = sql(name)
    return con.sql(query, params=bind(query, params)).fetchall()[0][0]


def keyed_table(con, name: str, keys: dict[str, list[int]], **params):
    """`table` for a block that looks rows up by key: each `IN (SELECT unnest($<name>::UBIGINT[]))`
    of a name in `keys` is written as a list of constants, which DuckDB checks against each row
    group's min and max (zone maps) to skip the row groups that cannot hold them; given as a
    parameter, it reads every row's key (6.3 against 3.2 ms per case at 1M orders). The keys are
    integers the store computed (hash(event_id)), so no text of a source reaches the SQL."""
    query = sql(name)
    for key, values in keys.items():
        pattern = f"IN (SELECT unnest(${key}::UBIGINT[]))"
        if pattern not in query:
            raise KeyError(f"{name} has no {pattern}")
        query = query.replace(pattern, "IN (" + (", ".join(str(int(k)) for k in values) or "NULL") + ")")
    return con.sql(query, params=bind(query, params)).to_arrow_table()


def bind(query: str, params: dict) -> dict | None:
    """The parameters `query` names (DuckDB refuses others)."""
    used = {k: v for k, v in params.items() if re.search(rf"\${k}\b", query)}
    return used or None


def composed(name: str, inlined: tuple[str, ...] = (), **blocks: str) -> str:
    """Block `name`'s SQL preceded, as WITH clauses, by the other blocks of its own file that it
    reads by name, each once, a block after those it reads: a filter or a derivation written
    once in a file and read by many of its blocks. `blocks` stand in for the file's blocks of
    those names (a union of only the parts a call needs). DuckDB stores a clause read more than
    once; those named in `inlined` are read in place instead (cheaper when each reader needs
    a few of many columns)."""
    concern, _, block = name.partition(".")
    body = re.sub(r"^(\s*--[^\n]*\n)+", "", sql(name))     # leading comments
    available = {b: text for b, text in {**_blocks(concern), **blocks}.items() if b != block}
    ordered: list[str] = []

    def visit(text: str, seen: tuple[str, ...]) -> None:
        text = re.sub(r"--[^\n]*", "", text)   # a name in a comment is no reference
        for short, sub in available.items():
            if short not in ordered and short not in seen and re.search(rf"\b{short}\b", text):
                visit(sub, seen + (short,))
                if short not in ordered:
                    ordered.append(short)

    visit(body, (block,))
    if not ordered:
        return body
    ctes = ",\n".join(f"{k} AS {'NOT MATERIALIZED ' if k in inlined else ''}(\n{available[k]}\n)"
                       for k in ordered)
    if re.match(r"\s*WITH\b", body, re.IGNORECASE):
        return f"WITH {ctes},\n{body.lstrip()[4:]}"
    return f"WITH {ctes}\n{body}"


def sql(name: str) -> str:
    """The SQL of block `name` ("concern.block")."""
    concern, _, block = name.partition(".")
    blocks = _blocks(concern)
    if block not in blocks:
        raise KeyError(f"no SQL block {block!r} in sql/{concern}.sql; have: {', '.join(sorted(blocks))}")
    return blocks[block]
