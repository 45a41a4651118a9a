from pathlib import Path

import pytest

from models.store import open_store

ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = ROOT.parent / "shared" / "real-data"


def rebuilt(con, read, rebuild, *emptied: str):
    """What `read(con)` gives once the derived tables `emptied` are cleared and `rebuild(con)`
    derives them afresh from the whole store: to compare with what loads kept. Rolled back
    after, as the session's shared store is read-only for tests."""
    con.begin()
    try:
        for table in emptied:
            con.execute(f"DELETE FROM {table}")
        rebuild(con)
        return read(con)
    finally:
        con.rollback()


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "p2p.duckdb")
    yield s
    s.close()


@pytest.fixture
def real_data() -> Path:
    if not REAL_DATA.is_dir():
        pytest.skip(f"the shared real-data folder is not beside the repository ({REAL_DATA.name})")
    return REAL_DATA


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`p2pobs serve` (or another serving command) as a real subprocess on free ports."""

    def __init__(self, tmp_path: Path, command: str = "serve", *extra: str):
        import subprocess
        import sys

        self.db = tmp_path / "p2p.duckdb"
        self.port, self.otlp_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.otlp_url = f"http://127.0.0.1:{self.otlp_port}/v1/traces"
        args = [sys.executable, "-m", "app.cli", command, "--db", str(self.db)]
        if command in ("serve", "dashboard", "demo"):
            args += ["--port", str(self.port), "--no-browser"]
        if command in ("serve", "receive"):
            args += ["--otlp-port", str(self.otlp_port)]
        self.process = subprocess.Popen(args + list(extra), cwd=tmp_path, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True,
                                        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
        self.output = []
        for line in self.process.stdout:   # wait until it says it listens
            self.output.append(line)
            if "Ctrl+C" in line:
                break
        else:
            raise RuntimeError(f"{command} did not start:\n{''.join(self.output)}")

    def stop(self) -> None:
        import signal

        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except Exception:
            self.process.kill()


@pytest.fixture
def serve(tmp_path):
    server = Server(tmp_path)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def network(tmp_path_factory):
    """A small simulated network, ingested once for the whole run: (store, manifest). Read it,
    never write to it: every test that uses it sees the same store. Its sources are derived one
    by one as each lands (as in a live store, not once after all as `p2pobs ingest` does), so
    the tests comparing kept tables with a rebuild see refreshes of loads that touch earlier ones."""
    import json

    from collectors.sources import plan
    from sample_logs.simulate import simulate

    out = tmp_path_factory.mktemp("network")
    simulate(out / "sim", orders=600, seed=11)
    s = open_store(out / "p2p.duckdb")
    for source in plan([out / "sim"]):
        s.ingest(source.batches(), source=str(source.path), kind=source.kind,
                 mapping=str(source.mapping) if source.mapping else None)
    yield s, json.loads((out / "sim" / "manifest.json").read_text())
    s.close()


@pytest.fixture
def simulated(network):
    """The simulated network as (cursor, planted truths)."""
    store, manifest = network
    return store.cursor(), manifest["truths"]
