"""XES logs: files in, canonical tables out; the real logs import with their exact counts."""

import json
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest

from collectors.errors import UnreadableSource
from collectors.mappings import Mapping, ObjectMapping
from collectors.sources import EVENT_LOG, plan
from collectors.xes import read_xes
from models.store import open_store
from models.vocabulary import CASE, PURCHASE_ORDER, TIMESTAMP_OUTLIER

DATA = Path(__file__).parent / "data" / "xes"


def table(batches, name):
    parts = [b.tables()[name] for b in batches if name in b.tables()]
    return pa.concat_tables(parts).to_pylist() if parts else []


def counts(path, **kw):
    batches = list(read_xes(path, **kw))
    return tuple(len(table(batches, n)) for n in ("event", "object", "event_object", "dead_letter"))


def test_typed_attributes_case_object_and_bad_events_as_dead_letters():
    path = DATA / "typed_attributes_and_bad_events.xes"
    batches = list(read_xes(path))
    events = table(batches, "event")
    assert [(e["event_id"], e["activity"], e["ts"], e["source_system"], e["actor"], e["flags"], e["source_order"])
            for e in events] == [
        ("typed_attributes_and_bad_events:PO-1:1", "ME21N", datetime(2024, 3, 30, 11, 0),
         "typed_attributes_and_bad_events", "ANNA", [], 1),
        ("typed_attributes_and_bad_events:PO-1:4", "Approve Invoice", datetime(1948, 1, 26, 22, 59),
         "typed_attributes_and_bad_events", None, [TIMESTAMP_OUTLIER], 4),
    ]
    assert json.loads(events[0]["attributes"]) == {
        "lifecycle:transition": "complete", "items": 3, "amount": 99.5, "urgent": True, "ref": "a1b2",
        "due": "2024-03-31T22:00:00Z", "tags": [{"tag": "stat"}, {"tag": "implant"}],
        "supplier": {"name": "Acme", "rating": 4}}
    assert table(batches, "object") == [
        {"object_id": "PO-1", "object_type": CASE, "source_system": "typed_attributes_and_bad_events",
         "attributes": '{"budget":1500.5}'}]
    assert table(batches, "event_object") == [
        {"event_id": e["event_id"], "object_id": "PO-1", "qualifier": None} for e in events]
    letters = table(batches, "dead_letter")
    assert [(d["source"], d["position"], d["reason"]) for d in letters] == [
        (str(path), "trace 1, event 2", "no time:timestamp, expected the event's time"),
        (str(path), "trace 1, event 3", 'time:timestamp "not a time" is not an ISO 8601 time'),
        (str(path), "trace 2, event 5", "trace 2 has no concept:name, expected the case id"),
    ]
    assert letters[0]["raw"].startswith("<event") and '"Post Invoice"' in letters[0]["raw"]


def test_mapping_names_system_case_type_zone_and_activities():
    mapping = Mapping(system="erp", activity="concept:name", timestamp="time:timestamp",
                      activities={"ME21N": "Create Purchase Order"},
                      objects=(ObjectMapping(type=PURCHASE_ORDER, id="case:concept:name"),))
    batches = list(read_xes(DATA / "typed_attributes_and_bad_events.xes", mapping))
    assert [(e["event_id"], e["activity"]) for e in table(batches, "event")] == [
        ("erp:PO-1:1", "Create Purchase Order"), ("erp:PO-1:4", "Approve Invoice")]
    assert [o["object_type"] for o in table(batches, "object")] == [PURCHASE_ORDER]


def test_truncated_file_is_unreadable_and_named():
    with pytest.raises(UnreadableSource, match="truncated.xes"):
        list(read_xes(DATA / "truncated.xes"))


def test_running_example_whole_first_event(real_data):
    batches = list(read_xes(real_data / "running-example.xes"))
    assert tuple(len(table(batches, n)) for n in ("event", "object", "event_object")) == (42, 6, 42)
    first = table(batches, "event")[0]
    assert first == {"event_id": "running-example:3:1", "activity": "register request",
                     "ts": datetime(2010, 12, 30, 13, 32), "source_system": "running-example",
                     "facility": None, "actor": "Pete", "actor_kind": None,
                     "attributes": '{"Activity":"register request","Costs":"50","Resource":"Pete"}',
                     "flags": [], "source_order": 1}


@pytest.mark.parametrize("name, events, cases", [
    ("08_receipt.xes.gz", 8_577, 1_434),
    ("15_bpic2020_permit_log_1t_per_variant.xes.gz", 26_028, 1_478),
])
def test_real_logs_import_with_exact_counts(real_data, name, events, cases):
    assert counts(real_data / name) == (events, cases, events, 0)


def test_bpi2019_imports_whole_and_flags_its_1948_timestamps(real_data):
    path = real_data / "16_bpic2019_1t_per_variant.xes.gz"
    [source] = plan([path])
    assert source.kind == EVENT_LOG
    store = open_store(":memory:")
    try:
        first = store.ingest(source.batches(), source=str(path), kind=source.kind)
        assert (first.accepted, first.rejected, first.counts) == (
            338_247, 0, {"event": 338_247, "object": 11_973, "event_object": 338_247})
        cur = store.cursor()
        flagged = cur.sql(f"""SELECT count(*) FILTER (WHERE list_contains(flags, '{TIMESTAMP_OUTLIER}')),
                                     count(*) FILTER (WHERE ts < TIMESTAMP '1990-01-01'),
                                     year(min(ts)), count(DISTINCT activity)
                              FROM event""").fetchall()[0]
        assert flagged[0] == flagged[1] > 0
        assert flagged[2:] == (1948, 42)
    finally:
        store.close()


def test_reingesting_an_xes_log_changes_no_count(real_data, store):
    path = real_data / "running-example.xes"
    first = store.ingest(plan([path])[0].batches(), source=str(path), kind=EVENT_LOG)
    again = store.ingest(plan([path])[0].batches(), source=str(path), kind=EVENT_LOG)
    assert first.counts == {"event": 42, "object": 6, "event_object": 42}
    assert (again.accepted, again.duplicates, sum(again.counts.values())) == (0, 42, 0)


def _trace(case: str, events: list[str]) -> str:
    return (f'\t<trace>\n\t\t<string key="concept:name" value="{case}"/>\n'
            + "".join(f'\t\t<event>\n{e}\t\t</event>\n' for e in events) + "\t</trace>\n")


def _event(activity: str, hour: int, extra: str = "") -> str:
    return (f'\t\t\t<string key="concept:name" value="{activity}"/>\n'
            f'\t\t\t<date key="time:timestamp" value="2024-03-30T{hour:02d}:00:00+01:00"/>\n{extra}')


def test_a_log_that_turns_nested_midway_reads_whole_with_the_same_ids(tmp_path):
    plain = [_trace(f"C{i}", [_event("Create Purchase Order", 9), _event("Post &amp; Pay", 10)])
             for i in range(1, 601)]
    nested = _trace("N1", [_event("Approve Invoice", 11, '\t\t\t<list key="tags"><values>'
                                                        '<string key="tag" value="stat"/></values></list>\n')])
    path = tmp_path / "mixed.xes"
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<log>\n' + "".join(plain) + nested
                    + _trace("C601", [_event("Clear Payment", 12)]) + "</log>\n", encoding="utf-8")
    batches = list(read_xes(path, batch_rows=200))     # several blocks before the nested trace
    events = table(batches, "event")
    assert len(batches) > 2
    assert [(e["event_id"], e["activity"], e["ts"], e["source_order"]) for e in events[-4:]] == [
        ("mixed:C600:1", "Create Purchase Order", datetime(2024, 3, 30, 8), 1199),
        ("mixed:C600:2", "Post & Pay", datetime(2024, 3, 30, 9), 1200),
        ("mixed:N1:1", "Approve Invoice", datetime(2024, 3, 30, 10), 1201),
        ("mixed:C601:1", "Clear Payment", datetime(2024, 3, 30, 11), 1202)]
    assert len({e["event_id"] for e in events}) == len(events) == 1202
    assert json.loads(events[-2]["attributes"]) == {"tags": [{"tag": "stat"}]}
    assert len(table(batches, "object")) == 602


@pytest.mark.parametrize("name", ["running-example.xes", "08_receipt.xes.gz"])
def test_line_by_line_reading_equals_the_xml_tree_reading(real_data, name):
    from collectors.log_values import Clock
    from collectors.xes import _read_tree, xes_system
    path = real_data / name
    fast = list(read_xes(path))
    tree = list(_read_tree(path, str(path), xes_system(path), CASE, {}, Clock("UTC"), 100_000, 0))
    for name in ("event", "object", "event_object"):
        assert table(fast, name) == table(tree, name)


def test_times_without_offset_read_in_the_mapping_zone_and_impossible_dates_rejected(tmp_path):
    path = tmp_path / "zoned.xes"
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<log>\n'
                    + _trace("PO-7", [_event("Create Purchase Order", 9).replace("+01:00", ""),
                                      _event("Approve Purchase Order", 9).replace("2024-03-30T09:00:00+01:00",
                                                                                  "2024-02-30T09:00:00")])
                    + "</log>\n", encoding="utf-8")
    mapping = Mapping(system="erp", activity="concept:name", timestamp="time:timestamp", timezone="Europe/Berlin")
    batches = list(read_xes(path, mapping))
    assert [(e["event_id"], e["ts"]) for e in table(batches, "event")] == [("erp:PO-7:1", datetime(2024, 3, 30, 8))]
    assert [(d["position"], d["reason"]) for d in table(batches, "dead_letter")] == [
        ("trace 1, event 2", 'time:timestamp "2024-02-30T09:00:00" is not an ISO 8601 time')]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin"])
def test_times_read_vectorised_equal_python_reading_them(zone):
    from collectors.log_values import Clock, iso_times
    texts = ["2018-01-02T12:53:00+00:00", "2018-01-02 12:53:00", "2018-01-02T12:53:00Z", "2024-02-29T23:59:59.5-09:30",
             "2018-01-02T12:53:00.123456+05:45", "1948-12-31T23:00:00+01:00", "2000-02-29T00:00:00.01Z",
             "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2018-01-02T24:00:00Z", "2018-01-02T12:53:00.Z",
             "2018-01-02T12:53:00.1234567Z", "2018-01-02T12:53:00+0100", " 2018-01-02T12:53:00Z", "0001-01-01T00:00:00Z",
             "2018-1-02T12:53:00Z", "not a time", "", None]
    clock = Clock(zone)
    ts, left = iso_times(pa.array(texts, pa.string()), zone)
    read = [clock.utc(t) if t is not None else None for t in texts]
    assert [t if t is not None or not lft else r for t, lft, r in zip(ts.to_pylist(), left, read)] == read
    assert not left[[0, 2, 3, 4, 5, 6]].any()       # times with an offset: read without Python
