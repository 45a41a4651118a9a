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


def p2pobs(*args, cwd):
    done = subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=cwd, capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


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
