"""Mapping files: the documented format reads, mistakes are named."""

from pathlib import Path

import pytest

from collectors.errors import MappingError
from collectors.mappings import read_mapping

DATA = Path(__file__).parent / "data"


def write(tmp_path, text):
    path = tmp_path / "m.toml"
    path.write_text(text)
    return path


def test_documented_example_reads(tmp_path):
    m = read_mapping(DATA / "workflow_logs" / "erp.toml")
    assert (m.system, m.event_id, m.activity, m.timezone, m.default_actor_kind) == (
        "erp", "change_no", "tcode", "Europe/Berlin", "person")
    assert [(o.type, o.id, o.template) for o in m.objects] == [
        ("purchase_order", "po_number", "PO-{}"), ("invoice", "invoice_no", None)]
    assert [(k.source, k.target, k.qualifier) for k in m.links] == [("invoice", "purchase_order", "bills")]


@pytest.mark.parametrize("text, message", [
    ('[source]\nsystem="erp"\n[event]\nactivity="a"\ntimestamp="t"\nzone="UTC"\n',
     "[event].zone: unknown key; valid keys: id, activity, timestamp, timestamp_format, timezone, "
     "timezone_column, facility, actor, actor_kind, default_actor_kind"),
    ('[source]\nsystem="erp"\n[evnt]\n', "[evnt]: unknown section; valid sections: source, event, activities, "
     "actor_kinds, facilities, attributes, values, object, link"),
    ('[source]\nsystem="ap"\n[event]\nactivity="a"\ntimestamp="t"\n[attributes]\ndepartment="Dept"\n'
     '[values.dept]\n"Operating Room"="OR"\n', "[values.dept]: 'dept' is no attribute of this mapping; attributes: department"),
    ('[source]\nsystem="ap"\n[event]\nactivity="a"\ntimestamp="t"\n[attributes]\ndepartment="Dept"\n'
     '[values.department]\n"Operating Room"=7\n', "[values.department]: must be a table of source value = canonical value"),
    ('[source]\nsystem="erp"\n[event]\ntimestamp="t"\n', "[event].activity: is required"),
    ('[source]\nsystem="erp"\nformat="xlsx"\n[event]\nactivity="a"\ntimestamp="t"\n',
     "[source].format: 'xlsx' is not supported; accepted: csv, jsonl"),
    ('[source]\nsystem="erp"\n[event]\nactivity="a"\ntimestamp="t"\ntimezone="Berlin"\n',
     "[event].timezone: 'Berlin' is not an IANA time zone"),
    ('[source]\nsystem="erp"\n[event]\nactivity="a"\ntimestamp="t"\n[actor_kinds]\nX="robot"\n',
     "[actor_kinds].X: 'robot' is not an actor kind; accepted: person, service"),
    ('[source]\nsystem="erp"\n[event]\nactivity="a"\ntimestamp="t"\n[[object]]\ntype="po"\nid="p"\npattern="PO-\\\\d+"\n',
     "[[object]] #1.pattern: needs a group"),
    ('[source]\nsystem="erp"\n[event]\nactivity="a"\ntimestamp="t"\n[[object]]\ntype="po"\nid="p"\n'
     '[[link]]\nsource="invoice"\ntarget="po"\n',
     "[[link]] #1.source: 'invoice' is not the type of an [[object]] above; accepted: po"),
])
def test_mistakes_name_the_file_the_key_and_what_is_accepted(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(MappingError) as info:
        read_mapping(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)
