"""Planning what to read: mappings claim files, the rest is detected or skipped with a reason."""

import shutil
from pathlib import Path

import pytest

from collectors.errors import UnreadableSource
from collectors.sources import EVENT_LOG, STATE_LOG, TRACE_FILE, plan

DATA = Path(__file__).parent / "data"


def test_directory_applies_mappings_detects_traces_and_skips_the_rest(tmp_path):
    (tmp_path / "mappings").mkdir()
    (tmp_path / "erp").mkdir()
    text = (DATA / "workflow_logs" / "erp.toml").read_text().replace('format = "csv"', 'files = ["erp/*.csv"]')
    (tmp_path / "mappings" / "erp.toml").write_text(text)
    shutil.copy(DATA / "workflow_logs" / "missing_id.csv", tmp_path / "erp" / "changes.csv")
    shutil.copy(DATA / "trace_files" / "jaeger_query_api.json", tmp_path / "spans.json")
    (tmp_path / "manifest.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("hello")
    sources = plan([tmp_path])
    assert [(s.path.relative_to(tmp_path).as_posix(), s.kind, s.mapping and s.mapping.name) for s in sources] == [
        ("erp/changes.csv", STATE_LOG, "erp.toml"), ("spans.json", TRACE_FILE, None)]
    assert [p.name for p, _ in sources.skipped] == ["manifest.json", "notes.txt"]
    assert [b.event.num_rows for b in sources[0].batches()] == [1]


def test_explicit_file_nothing_can_read_is_an_error():
    with pytest.raises(UnreadableSource, match="not_a_trace.json"):
        plan([DATA / "trace_files" / "not_a_trace.json"])


@pytest.mark.parametrize("name", [
    "16_bpic2019_1t_per_variant.xes.gz", "running-example.xes", "ocel2-p2p.sqlite", "ocel20_example.sqlite",
    "ocel20_example.jsonocel", "ocel20_example.xmlocel", "ocpa_p2p-normal.jsonocel"])
def test_event_logs_are_recognised_without_a_mapping(real_data, name):
    [source] = plan([real_data / name])
    assert (source.kind, source.mapping) == (EVENT_LOG, None)


def test_a_directory_reads_event_logs_beside_state_logs(real_data, tmp_path):
    for name in ("running-example.xes", "ocel20_example.jsonocel", "running-example.csv"):
        shutil.copy(real_data / name, tmp_path / name)
    (tmp_path / "other.json").write_text('{"objectTypes_not": 1}')
    sources = plan([tmp_path])
    assert [(s.path.name, s.kind) for s in sources] == [
        ("ocel20_example.jsonocel", EVENT_LOG), ("running-example.csv", STATE_LOG), ("running-example.xes", EVENT_LOG)]
    assert [p.name for p, _ in sources.skipped] == ["other.json"]
