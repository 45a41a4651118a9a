"""Dead letters: kept with what re-reading them needs, listed, shown, and replayed through a
corrected mapping into the events a good first read would have given."""

import hashlib
import json
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from app.dead_letters import replay
from app.ingest import ingest
from collectors.mappings import read_mapping
from collectors.replay import NO_CONTEXT, replay as replay_letters
from conftest import ROOT, Server
from models import dead_letters, health
from models.store import open_store

DATA = Path(__file__).parent / "data" / "workflow_logs"
ERP, AP = DATA / "erp.toml", DATA / "ap.toml"
MIXED = DATA / "mixed_timestamp_formats.csv"
HEADER = "change_no;tcode;changed_on;plant;user_name;po_number;invoice_no;net_value"
ISO_REASON = ('column "changed_on": "{}" is not a timestamp, expected format %d.%m.%Y %H:%M:%S')
EVENT_COLUMNS = "event_id, activity, ts, source_system, facility, actor, actor_kind, attributes, flags, source_order"


def corrected(tmp_path: Path, original: Path, drop: str, add: str = "") -> Path:
    """A copy of `original` without the lines starting with `drop` (and with `add` after [event])."""
    lines = [x for x in original.read_text(encoding="utf-8").splitlines() if not x.startswith(drop)]
    text = "\n".join(lines).replace("[event]", "[event]\n" + add if add else "[event]")
    path = tmp_path / f"{original.stem}_fixed.toml"
    path.write_text(text + "\n", encoding="utf-8")
    return path


def counts(store) -> dict:
    return health.counts(store.cursor())


def events(store, ids) -> list[tuple]:
    return store.cursor().sql(f"SELECT {EVENT_COLUMNS} FROM event WHERE list_contains($ids, event_id) "
                              "ORDER BY event_id", params={"ids": ids}).fetchall()


def relations(store, ids) -> list[tuple]:
    return store.cursor().sql("SELECT event_id, object_id, qualifier FROM event_object "
                              "WHERE list_contains($ids, event_id) ORDER BY ALL", params={"ids": ids}).fetchall()


# -- models and collectors -----------------------------------------------------------------------
def test_a_bad_row_is_listed_by_reason_and_shown_with_its_raw_text_and_header(store):
    ingest(store, [DATA / "unparseable_timestamp.csv"], ERP)
    cur = store.cursor()
    reason = ISO_REASON.format("31.03.2024 25:00:00")
    listed = dead_letters.list_letters(cur).to_pylist()
    assert [(x["source"], x["position"], x["reason"], x["mapping"], x["replayed_in"]) for x in listed] == [
        (str(DATA / "unparseable_timestamp.csv"), "line 3", reason, str(ERP), None)]
    assert dead_letters.list_letters(cur, source="unparseable_timestamp.csv").num_rows == 1
    assert dead_letters.list_letters(cur, source="other.csv").num_rows == 0
    assert dead_letters.list_letters(cur, reason="25:00").num_rows == 1
    assert dead_letters.list_letters(cur, reason="unknown time zone").num_rows == 0
    assert [(g["reason"], g["records"]) for g in dead_letters.by_reason(cur).to_pylist()] == [(reason, 1)]

    letter = dead_letters.letter(cur, listed[0]["letter_id"][:8])   # a unique prefix is enough
    assert (letter["letter_id"], letter["raw"], letter["context"]) == (
        listed[0]["letter_id"], "2;ME21N;31.03.2024 25:00:00;1010;ANNA;4500012346;;99",
        {"format": "csv", "header": HEADER, "delimiter": ";", "encoding": "utf-8-sig"})
    with pytest.raises(dead_letters.LetterNotFound, match="no dead letter has the id 'ffff'"):
        dead_letters.letter(cur, "ffff")


def test_replay_through_a_corrected_mapping_lands_what_a_good_first_ingest_gives(store, tmp_path):
    ingest(store, [MIXED], ERP)   # rows 3 and 5 carry ISO times the mapping's format does not read
    assert [(x["position"], x["reason"]) for x in dead_letters.list_letters(store.cursor()).to_pylist()] == [
        ("line 3", ISO_REASON.format("2024-01-02 11:00:00")), ("line 5", ISO_REASON.format("2024-01-02 13:00:00"))]
    before = counts(store)
    fixed = corrected(tmp_path, ERP, "timestamp_format")   # ISO 8601, still Europe/Berlin

    summary = replay(store, fixed)

    assert {k: summary[k] for k in ("replayed", "accepted", "still_rejected", "skipped", "rejected")} == {
        "replayed": 2, "accepted": 2, "still_rejected": 0, "skipped": 0, "rejected": []}
    after = counts(store)
    assert {k: after[k] - before[k] for k in after} == {
        "events": 2, "objects": 2, "event_objects": 3, "object_objects": 1, "object_changes": 2,
        "spans": 0, "dead_letters": 0, "batches": 1}   # letters are kept, marked replayed
    assert events(store, ["erp:51", "erp:53"]) == [
        ("erp:51", "Create Purchase Order", datetime(2024, 1, 2, 10, 0), "erp", "MERCY-CHI", "ANNA", "person",
         '{"amount":6}', [], 3),
        ("erp:53", "Receive Invoice", datetime(2024, 1, 2, 12, 0), "erp", "1020", "BOB", "person",
         '{"amount":6}', [], 5)]
    batch = store.cursor().sql("SELECT batch_id, source, kind, mapping, accepted, rejected FROM ingest_batch "
                               "ORDER BY seq DESC LIMIT 1").fetchall()
    assert batch == [(summary["batch_id"], "replay", "replay", str(fixed), 2, 0)]
    assert dead_letters.list_letters(store.cursor()).num_rows == 0
    assert [x["replayed_in"] for x in dead_letters.list_letters(store.cursor(), include_replayed=True).to_pylist()] \
        == [summary["batch_id"]] * 2

    # the same rows, read right the first time, into a fresh store
    good = open_store(tmp_path / "good.duckdb")
    try:
        ingest(good, [MIXED], fixed)
        assert events(good, ["erp:51", "erp:53"]) == events(store, ["erp:51", "erp:53"])
        assert relations(good, ["erp:51", "erp:53"]) == relations(store, ["erp:51", "erp:53"])
    finally:
        good.close()

    # replaying again, and re-ingesting the file, change no count
    again = replay(store, fixed)
    assert (again["replayed"], again["accepted"], again["batch_id"]) == (0, 0, None)
    assert counts(store) == after
    ingest(store, [MIXED], ERP)
    assert {k: v for k, v in counts(store).items() if k != "batches"} == \
        {k: v for k, v in after.items() if k != "batches"}


def test_a_replay_whose_mapping_still_fails_keeps_the_letters_and_reports_why(store):
    ingest(store, [DATA / "unparseable_timestamp.csv", DATA / "truncated_line.csv"], ERP)
    before = counts(store)
    summary = replay(store, ERP)   # hour 25 and a 4-field line fail whatever the mapping
    assert {k: summary[k] for k in ("replayed", "accepted", "still_rejected", "batch_id")} == {
        "replayed": 2, "accepted": 0, "still_rejected": 2, "batch_id": None}
    assert [(Path(x["source"]).name, x["position"], x["reason"]) for x in summary["rejected"]] == [
        ("truncated_line.csv", "line 3", "4 fields where the header has 8 (truncated or malformed line)"),
        ("unparseable_timestamp.csv", "line 3", ISO_REASON.format("31.03.2024 25:00:00"))]
    assert counts(store) == before   # no new letters, no batch
    assert dead_letters.list_letters(store.cursor()).num_rows == 2


def test_jsonl_letter_replayed_gets_the_content_hash_id_of_its_line(store, tmp_path):
    path = DATA / "unknown_zone.jsonl"
    ingest(store, [path], AP)
    raw = path.read_text(encoding="utf-8").splitlines()[1]   # "tz": "Mars/Olympus"
    fixed = corrected(tmp_path, AP, "timezone_column", 'timezone = "America/Chicago"')

    summary = replay(store, fixed)

    assert (summary["accepted"], summary["still_rejected"]) == (1, 0)
    event_id = hashlib.md5(("ap\x1f" + raw.strip()).encode()).hexdigest()
    assert [(e[0], e[2], e[-1]) for e in events(store, [event_id])] == [
        (event_id, datetime(2024, 3, 10, 17, 0), 2)]   # 12:00 CDT (DST began that night), line 2
    assert relations(store, [event_id]) == [(event_id, "INV-4", "")]


def test_only_records_the_mapping_can_read_are_replayed_the_rest_skipped(store):
    ingest(store, [ROOT / "tests" / "data" / "xes" / "typed_attributes_and_bad_events.xes"])
    ingest(store, [DATA / "unknown_zone.jsonl"], AP)
    ingest(store, [DATA / "truncated_line.csv"], ERP)
    summary = replay(store, ERP)
    assert {k: summary[k] for k in ("replayed", "still_rejected", "skipped")} == {
        "replayed": 1, "still_rejected": 1, "skipped": 4}
    assert sorted((x["letters"], x["reason"]) for x in summary["skipped_reasons"]) == [
        (1, f"a jsonl record; {ERP} reads csv"), (3, NO_CONTEXT)]
    only = replay(store, ERP, source="unknown_zone.jsonl")
    assert (only["replayed"], only["skipped"]) == (0, 1)


def test_a_csv_letter_with_an_open_quote_does_not_swallow_the_letters_after_it():
    context = {"format": "csv", "header": HEADER, "delimiter": ";", "encoding": "utf-8"}
    letters = [
        {"letter_id": "a", "source": "erp.csv", "position": "line 7", "context": context,
         "raw": '70;"ME21N;02.01.2024 10:00:00;1010;ANNA;4500000070;;5'},
        {"letter_id": "b", "source": "erp.csv", "position": "line 9", "context": context,
         "raw": '71;ME21N;02.01.2024 10:00:00;1010;"Doe\nJane";4500000071;;5'},   # a quoted line break
        {"letter_id": "c", "source": "erp.csv", "position": "line 12", "context": context,
         "raw": "72;ME21N;02.01.2024 11:00:00;1010;ANNA;4500000072;;5"},
    ]
    run = replay_letters(letters, read_mapping(ERP))
    batches = list(run.batches())
    assert (run.accepted, list(run.rejected), run.skipped) == (["b", "c"], ["a"], {})
    assert run.rejected["a"].startswith("not readable as CSV")
    assert [(e["event_id"], e["actor"], e["source_order"]) for b in batches for e in b.event.to_pylist()] == [
        ("erp:71", "Doe\nJane", 9), ("erp:72", "ANNA", 12)]
    assert all(b.dead_letter is None for b in batches)


# -- the command line, alone and through a running server ---------------------------------------
def p2pobs(*args, cwd):
    done = subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=600)
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else done.stderr


def _cli_session(cwd: Path, db: str) -> None:
    shutil.copy(MIXED, cwd / "erp_export.csv")
    shutil.copy(ERP, cwd / "erp.toml")
    corrected(cwd, ERP, "timestamp_format")   # erp_fixed.toml

    rc, loaded = p2pobs("ingest", "erp_export.csv", "--mapping", "erp.toml", "--db", db, "--json", cwd=cwd)
    assert (rc, loaded["accepted"], loaded["rejected"]) == (0, 2, 2)

    rc, listed = p2pobs("deadletters", "list", "--db", db, "--source", "erp_export.csv", "--json", cwd=cwd)
    assert rc == 0, listed
    assert (listed["total"], listed["shown"]) == (2, 2)
    assert [(x["position"], x["reason"], x["replayed_in"]) for x in listed["letters"]] == [
        ("line 3", ISO_REASON.format("2024-01-02 11:00:00"), None),
        ("line 5", ISO_REASON.format("2024-01-02 13:00:00"), None)]
    assert [(g["records"], g["first_position"]) for g in listed["by_reason"]] == [(1, "line 3"), (1, "line 5")]
    rc, narrowed = p2pobs("deadletters", "list", "--db", db, "--reason", "13:00", "--json", cwd=cwd)
    assert [x["position"] for x in narrowed["letters"]] == ["line 5"]

    letter_id = listed["letters"][0]["letter_id"]
    rc, shown = p2pobs("deadletters", "show", letter_id[:10], "--db", db, "--json", cwd=cwd)
    assert rc == 0
    assert {k: shown[k] for k in ("letter_id", "position", "raw", "context", "replayed_in")} == {
        "letter_id": letter_id, "position": "line 3", "raw": "51;ME21N;2024-01-02 11:00:00;1010;ANNA;4500000051;;6",
        "context": {"format": "csv", "header": HEADER, "delimiter": ";", "encoding": "utf-8-sig"},
        "replayed_in": None}
    rc, missing = p2pobs("deadletters", "show", "0000", "--db", db, "--json", cwd=cwd)
    assert (rc, missing["exit_status"]) == (2, 2) and "no dead letter has the id '0000'" in missing["error"]

    rc, failed = p2pobs("deadletters", "replay", "--mapping", "erp.toml", "--db", db, "--json", cwd=cwd)
    assert (rc, failed["replayed"], failed["accepted"], failed["still_rejected"], failed["batch_id"]) == (
        1, 2, 0, 2, None)

    rc, done = p2pobs("deadletters", "replay", "--mapping", "erp_fixed.toml", "--db", db, "--json", cwd=cwd)
    assert (rc, done["replayed"], done["accepted"], done["still_rejected"], done["new_rows"]["event"]) == (
        0, 2, 2, 0, 2)
    rc, stats = p2pobs("stats", "--db", db, "--json", cwd=cwd)
    assert (stats["events"], stats["dead_letters"], stats["batches"]) == (4, 2, 2)

    rc, again = p2pobs("deadletters", "replay", "--mapping", "erp_fixed.toml", "--db", db, "--json", cwd=cwd)
    assert (rc, again["replayed"], again["batch_id"]) == (0, 0, None)
    rc, remaining = p2pobs("deadletters", "list", "--db", db, "--json", cwd=cwd)
    assert (remaining["total"], remaining["letters"]) == (0, [])
    rc, everything = p2pobs("deadletters", "list", "--db", db, "--all", "--json", cwd=cwd)
    assert [x["replayed_in"] for x in everything["letters"]] == [done["batch_id"]] * 2
    assert p2pobs("stats", "--db", db, "--json", cwd=cwd)[1] == stats

    rc, bad = p2pobs("deadletters", "replay", "--mapping", "nowhere.toml", "--db", db, "--json", cwd=cwd)
    assert rc == 2 and "nowhere.toml: cannot read the mapping file" in bad["error"]


def test_deadletters_list_show_replay_on_the_command_line(tmp_path):
    _cli_session(tmp_path, "p2p.duckdb")


def test_deadletters_commands_go_through_the_server_that_owns_the_store(tmp_path):
    server = Server(tmp_path)   # serves tmp_path/p2p.duckdb
    try:
        _cli_session(tmp_path, "p2p.duckdb")
        assert server.process.poll() is None
    finally:
        server.stop()
