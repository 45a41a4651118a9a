"""Every setting in one declarative place: name, environment variable, default, help.

Only the command line reads the environment (`app/cli.py`); everything else receives a
`Settings` value. Precedence: flag > environment > default.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields


def _setting(default, env: str, help: str):
    return field(default=default, metadata={"env": env, "help": help})


@dataclass(frozen=True)
class Settings:
    db: str = _setting("data/p2p.duckdb", "P2POBS_DB", "DuckDB store file")
    host: str = _setting("127.0.0.1", "P2POBS_HOST", "address the dashboard and ingest API listen on")
    port: int = _setting(8501, "P2POBS_PORT", "port of the dashboard and ingest API")
    otlp_host: str = _setting("127.0.0.1", "P2POBS_OTLP_HOST", "address of the OTLP/HTTP receiver")
    otlp_port: int = _setting(4318, "P2POBS_OTLP_PORT", "port of the OTLP/HTTP receiver")
    otlp_token: str = _setting("", "P2POBS_OTLP_TOKEN", "bearer token the receiver requires (empty: none)")
    max_request_bytes: int = _setting(16 * 1024 * 1024, "P2POBS_MAX_REQUEST_BYTES",
                                      "largest OTLP request accepted, as sent and decompressed")
    memory_limit: str = _setting("", "P2POBS_MEMORY_LIMIT",
                                 "memory the store's queries hold before spilling to disk beside the "
                                 "store, e.g. 8GB (empty: about half of this machine's)")
    inbox: str = _setting("", "P2POBS_INBOX", "folder `serve` watches for files to ingest (empty: none)")


def resolve(flags: dict, environ: dict) -> Settings:
    """Settings from command-line flags (None = not given) over environment over defaults."""
    values = {}
    for f in fields(Settings):
        value = flags.get(f.name)
        if value is None:
            value = environ.get(f.metadata["env"], f.default)
        values[f.name] = type(f.default)(value)
    return Settings(**values)


def documented() -> list[tuple[str, str, object, str]]:
    """(setting, environment variable, default, help) rows, for the README and `--help`."""
    return [(f.name, f.metadata["env"], f.default, f.metadata["help"]) for f in fields(Settings)]
