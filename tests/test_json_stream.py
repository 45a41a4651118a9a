"""A large JSON document read member by member: same values as json.load, in file order."""

import json

import pytest

from collectors import json_stream
from collectors.json_stream import JSONStreamError, members

DOC = {"head": {"n": 1, "list": [1, 2]}, "events": [{"id": i, "x": i / 3, "s": "a\u00e9\"]}" * (i % 4)}
                                                     for i in range(500)],
       "map": {f"k{i}": [i, -1.5e-7, None, True] for i in range(300)}, "tail": 12345678901234567890}


@pytest.fixture(params=[7, 64, 1 << 20], ids=["7 chars", "64 chars", "1 MiB"])
def chunk(request, monkeypatch):
    """Buffers small enough that every value crosses a chunk boundary somewhere."""
    monkeypatch.setattr(json_stream, "CHUNK", request.param)


def test_members_give_what_json_load_gives_in_file_order(tmp_path, chunk):
    path = tmp_path / "doc.json"
    path.write_text("\ufeff" + json.dumps(DOC, indent=1), encoding="utf-8")
    seen = {}
    for key, value in members(path, {"events", "map"}):
        seen[key] = list(value) if key == "events" else dict(value) if key == "map" else value
    assert list(seen) == list(DOC)
    assert seen == DOC


def test_a_streamed_member_left_unread_is_skipped(tmp_path, chunk):
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(DOC), encoding="utf-8")
    assert [k for k, _ in members(path, {"events", "map"})] == list(DOC)
    assert dict(members(path, {"events", "map"}))["tail"] == DOC["tail"]


def test_a_broken_document_names_the_character_where_it_breaks(tmp_path, chunk):
    path = tmp_path / "broken.json"
    text = json.dumps(DOC)
    cut = text.index('"map"') + 20
    path.write_text(text[:cut] + "}}", encoding="utf-8")
    with pytest.raises(JSONStreamError, match=r"at character \d+"):
        for _, value in members(path, {"events", "map"}):
            list(value) if not isinstance(value, (int, dict)) else None
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(JSONStreamError, match="expected '{' at character 0"):
        list(members(path, set()))
