"""The whole app in a real headless Chromium: `p2pobs demo` serves, every page renders, no error box."""

import csv
import hashlib
import io
import json
import shutil
import zipfile

import pytest

from conftest import ROOT, Server
from models import exports
from models import vocabulary as v

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = ROOT / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("demo"), "demo", "--orders", "300")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM:
        pytest.skip("Chromium is not installed (./dev.sh test installs it on Debian)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def wait_until_rendered(page) -> None:
    """Until the script run has finished: Streamlit shows its status widget while it runs."""
    page.wait_for_timeout(500)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=60_000)


PAGES = {"": "Overview", "invoices": "Invoices", "data-health": "Data health", "sync-lag": "Sync lag", "process": "Process", "cases?case=4500000": "Case explorer"}


@pytest.mark.parametrize("path, title", PAGES.items())
def test_every_page_renders_in_a_real_browser(demo, browser, path, title):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{demo.url}/{path}")
    page.get_by_role("heading", name=title).wait_for(timeout=60_000)
    page.wait_for_load_state("networkidle")
    wait_until_rendered(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{path.split('?')[0] or 'overview'}.png"), full_page=True)
    assert page.get_by_text("Page not found").count() == 0
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    assert "Accepted" in "".join(demo.output)   # the demo collected before serving
    page.close()


def test_case_explorer_downloads_an_audit_pack_that_verifies(demo, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{demo.url}/cases?case=INV-")
    page.get_by_role("heading", name="Case explorer").wait_for(timeout=60_000)
    wait_until_rendered(page)
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Download audit pack").click()
    pack = tmp_path / download.value.suggested_filename
    download.value.save_as(pack)
    page.close()

    with zipfile.ZipFile(pack) as z:
        manifest = json.loads(z.read("manifest.json"))
        assert manifest["case"].startswith("INV-")
        assert pack.name == f"{manifest['case']}-audit-pack.zip"
        for f in manifest["files"]:
            assert hashlib.sha256(z.read(f["name"])).hexdigest() == f["sha256"], f["name"]
        trail = list(csv.DictReader(io.StringIO(z.read("trail.csv").decode())))
    assert manifest["content_sha256"] == exports.content_hash(manifest["files"])
    assert v.RECEIVE_INVOICE in {row["activity"] for row in trail}
