"""One owner of the store: while `p2pobs serve` runs, an ingest from another shell goes through
it, spans arrive over OTLP, and a dashboard page open during the ingest never meets a lock error."""

import json
import subprocess
import sys
import threading
import urllib.request

import pytest

from conftest import ROOT, Server
from test_browser import CHROMIUM, wait_until_rendered
from test_receiver import _send_with_sdk


def p2pobs(*args, cwd, json_out=True):
    done = subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=cwd, capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if json_out else done.stdout


@pytest.mark.browser
def test_serve_owns_the_store_while_cli_ingest_otlp_and_a_page_all_use_it(tmp_path):
    if not CHROMIUM:
        pytest.skip("Chromium is not installed (./dev.sh test installs it on Debian)")
    from playwright.sync_api import sync_playwright

    from sample_logs import simulate

    manifest = simulate(tmp_path / "sim", orders=800, seed=5)
    server = Server(tmp_path)
    try:
        results = {}
        ingest = threading.Thread(target=lambda: results.update(
            ingest=p2pobs("ingest", "sim", "--db", str(server.db), "--json", cwd=tmp_path)))
        otlp = threading.Thread(target=_send_with_sdk, args=(server.otlp_url, 50))
        ingest.start()
        otlp.start()

        errors, renders = [], 0
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page()
            while ingest.is_alive() or renders < 2:
                page.goto(f"{server.url}/data-health")
                page.get_by_role("heading", name="Data health").wait_for(timeout=60_000)
                page.wait_for_load_state("networkidle")
                wait_until_rendered(page)
                errors += page.locator('[data-testid="stException"]').all_inner_texts()
                renders += 1
            browser.close()
        ingest.join()
        otlp.join()

        stats = p2pobs("stats", "--db", str(server.db), "--json", cwd=tmp_path)   # through the server too
        with urllib.request.urlopen(f"{server.url}/api/stats") as reply:
            assert json.loads(reply.read()) == stats
    finally:
        server.stop()

    assert errors == []
    assert renders >= 2
    loaded = results["ingest"]
    assert loaded["errors"] == [] and loaded["rejected"] == 0
    assert stats["spans"] == manifest["counts"]["spans"] + 50
    assert stats["events"] + manifest["counts"]["spans"] == loaded["accepted"]


def _rounded(value):
    """Floats to 9 significant digits: DuckDB's parallel sums may differ in the last bit."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, list):
        return [_rounded(x) for x in value]
    if isinstance(value, dict):
        return {k: _rounded(x) for k, x in value.items() if k not in ("seconds", "out")}
    return value


def test_commands_give_the_same_answers_through_a_running_server_as_without_it(tmp_path):
    from sample_logs import simulate

    manifest = simulate(tmp_path / "sim", orders=200, seed=3)
    invoice = manifest["truths"]["four_eyes_violation"]["invoices_approved_on_own_orders"]["ids"][0]
    commands = {
        "stats": ["stats"], "dfg": ["mine", "dfg"], "variants": ["mine", "variants", "--top", "5"],
        "conformance": ["mine", "conformance", "--object-type", "purchase_order"],
        "kpis": ["kpis", "--by", "facility"], "controls": ["audit", "controls"],
        "letters": ["deadletters", "list"],
    }

    def answers(tag: str) -> dict:
        found = {name: p2pobs(*args, "--db", str(db), "--json", cwd=tmp_path) for name, args in commands.items()}
        found["pack"] = p2pobs("audit", "pack", invoice, "--out", f"{tag}.zip", "--db", str(db), "--json",
                               cwd=tmp_path)
        found["export"] = p2pobs("export", "--format", "ocel2-json", "--out", f"{tag}.json", "--db", str(db),
                                 "--json", cwd=tmp_path)
        return found

    server = Server(tmp_path)
    db = server.db
    try:
        p2pobs("ingest", "sim", "--db", str(db), cwd=tmp_path, json_out=False)
        through_server = answers("served")
        assert (tmp_path / "served.zip").exists() and (tmp_path / "served.json").exists()
    finally:
        server.stop()
    alone = answers("alone")

    assert _rounded(through_server) == _rounded(alone)
    assert through_server["controls"]["four_eyes"]["count"] >= 1
    assert through_server["stats"]["events"] > 0 and through_server["export"]["events"] == through_server["stats"]["events"]
    assert (tmp_path / "served.json").read_bytes() == (tmp_path / "alone.json").read_bytes()
