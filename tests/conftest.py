from pathlib import Path

import pytest

from models.store import open_store

ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = ROOT.parent / "shared" / "real-data"


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
