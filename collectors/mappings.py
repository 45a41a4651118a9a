"""Mapping files (docs/mappings.md): how one source system's state log becomes canonical rows.

`read_mapping(path)` validates a TOML mapping into a frozen `Mapping`; `pm4py_mapping` is the
mapping used for a flat log that follows the pm4py column convention and has no mapping file.
"""

from __future__ import annotations

import re
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

from collectors.errors import MappingError
from models.vocabulary import CASE, PERSON, SERVICE

FORMATS = ("csv", "jsonl", "xes", "ocel")
ACTOR_KINDS = (PERSON, SERVICE)

# section -> allowed keys (None: a free table of string -> string)
SECTIONS: dict[str, tuple[str, ...] | None] = {
    "source": ("system", "files", "format", "delimiter", "encoding"),
    "event": ("id", "activity", "timestamp", "timestamp_format", "timezone", "timezone_column",
              "facility", "actor", "actor_kind", "default_actor_kind"),
    "activities": None,
    "actor_kinds": None,
    "facilities": None,
    "attributes": None,
    "values": None,     # [values.<attribute>]: a table of source value -> canonical value per attribute
    "object": ("type", "id", "pattern", "template", "separator", "qualifier", "attributes"),
    "link": ("source", "target", "qualifier"),
}
REPEATED = ("object", "link")

PM4PY_CASE = "case:concept:name"
PM4PY_ACTIVITY = "concept:name"
PM4PY_TIMESTAMP = "time:timestamp"
PM4PY_RESOURCE = "org:resource"


@dataclass(frozen=True)
class ObjectMapping:
    type: str
    id: str
    pattern: str | None = None
    template: str | None = None
    separator: str | None = None
    qualifier: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LinkMapping:
    source: str
    target: str
    qualifier: str | None = None


@dataclass(frozen=True)
class Mapping:
    system: str
    activity: str
    timestamp: str
    path: str | None = None
    files: tuple[str, ...] = ()
    format: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    event_id: str | None = None
    timestamp_format: str | None = None
    timezone: str = "UTC"
    timezone_column: str | None = None
    facility: str | None = None
    actor: str | None = None
    actor_kind: str | None = None
    default_actor_kind: str | None = None
    activities: dict[str, str] = field(default_factory=dict)
    actor_kinds: dict[str, str] = field(default_factory=dict)
    facilities: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)   # attribute -> source -> canonical
    objects: tuple[ObjectMapping, ...] = ()
    links: tuple[LinkMapping, ...] = ()

    def columns(self) -> list[str]:
        """Every source column the mapping reads."""
        cols = [self.event_id, self.activity, self.timestamp, self.timezone_column,
                self.facility, self.actor, self.actor_kind, *self.attributes.values()]
        for o in self.objects:
            cols += [o.id, *o.attributes.values()]
        return list(dict.fromkeys(c for c in cols if c))

    def attribute_columns(self) -> list[str]:
        """The source columns read as attribute values, of events or objects."""
        return list(dict.fromkeys([*self.attributes.values(), *(c for o in self.objects for c in o.attributes.values())]))


def read_mapping(path: str | Path) -> Mapping:
    """Read and validate the mapping file at `path`."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise MappingError(f"{path}: cannot read the mapping file ({exc.strerror or exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path}: not valid TOML ({exc})") from exc
    return _parse(doc, str(path))


def pm4py_mapping(system: str, columns: list[str] | tuple[str, ...] = ()) -> Mapping:
    """The mapping of a flat log in the pm4py convention: `case:concept:name` becomes an object
    of type "case" (its other `case:*` columns its attributes), `concept:name` the activity,
    `time:timestamp` the time, `org:resource` the actor; other named columns event attributes."""
    core = {PM4PY_CASE, PM4PY_ACTIVITY, PM4PY_TIMESTAMP, PM4PY_RESOURCE}
    case_attrs = {c[len("case:"):]: c for c in columns if c.startswith("case:") and c not in core}
    attrs = {c: c for c in columns if c and c not in core and not c.startswith("case:")
             and not c.startswith("Unnamed") and not re.fullmatch(r"column_\d+", c)}
    return Mapping(
        system=system, activity=PM4PY_ACTIVITY, timestamp=PM4PY_TIMESTAMP,
        actor=PM4PY_RESOURCE if PM4PY_RESOURCE in columns else None,
        attributes=attrs,
        objects=(ObjectMapping(type=CASE, id=PM4PY_CASE, attributes=case_attrs),),
    )


def is_pm4py_log(columns: list[str] | tuple[str, ...]) -> bool:
    return {PM4PY_CASE, PM4PY_ACTIVITY, PM4PY_TIMESTAMP} <= set(columns)


# -- validation ---------------------------------------------------------------------------------
def _parse(doc: dict, where: str) -> Mapping:
    def fail(key: str, problem: str) -> MappingError:
        return MappingError(f"{where}: {key}: {problem}")

    for name, value in doc.items():
        if name not in SECTIONS:
            raise fail(f"[{name}]", f"unknown section; valid sections: {', '.join(SECTIONS)}")
        if name in REPEATED:
            if not isinstance(value, list):
                raise fail(f"[[{name}]]", "must be an array of tables ([[" + name + "]])")
        elif not isinstance(value, dict):
            raise fail(f"[{name}]", "must be a table")

    def table(name: str, value: dict, label: str) -> dict:
        allowed = SECTIONS[name]
        for key, v in value.items():
            if allowed is not None and key not in allowed:
                raise fail(f"{label}.{key}", f"unknown key; valid keys: {', '.join(allowed)}")
            if allowed is None and not isinstance(v, str):
                raise fail(f"{label}.{key}", "must be a string (the value it maps to)")
        return value

    def text(t: dict, key: str, label: str, required: bool = False) -> str | None:
        v = t.get(key)
        if v is None:
            if required:
                raise fail(f"{label}.{key}", "is required")
            return None
        if not isinstance(v, str) or not v:
            raise fail(f"{label}.{key}", "must be a non-empty string")
        return v

    source = table("source", doc.get("source", {}), "[source]")
    event = table("event", doc.get("event", {}), "[event]")
    kinds = table("actor_kinds", doc.get("actor_kinds", {}), "[actor_kinds]")
    for k, v in kinds.items():
        if v not in ACTOR_KINDS:
            raise fail(f"[actor_kinds].{k}", f"{v!r} is not an actor kind; accepted: {', '.join(ACTOR_KINDS)}")

    files = source.get("files", [])
    if isinstance(files, str):
        files = [files]
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise fail("[source].files", "must be a list of glob strings, e.g. [\"erp/*.csv\"]")
    fmt = text(source, "format", "[source]")
    if fmt is not None and fmt not in FORMATS:
        raise fail("[source].format", f"{fmt!r} is not supported; accepted: {', '.join(FORMATS)}")
    delimiter = source.get("delimiter")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
        raise fail("[source].delimiter", "must be a single character, e.g. \";\" or \"\\t\"")
    encoding = text(source, "encoding", "[source]")
    if encoding is not None:
        import codecs
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise fail("[source].encoding", f"{encoding!r} is not a known encoding; e.g. utf-8, cp1252, latin-1") from None

    zone = text(event, "timezone", "[event]") or "UTC"
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise fail("[event].timezone", f"{zone!r} is not an IANA time zone; e.g. \"Europe/Berlin\", \"America/Chicago\", \"UTC\"") from None
    default_kind = text(event, "default_actor_kind", "[event]")
    if default_kind is not None and default_kind not in ACTOR_KINDS:
        raise fail("[event].default_actor_kind", f"{default_kind!r} is not an actor kind; accepted: {', '.join(ACTOR_KINDS)}")

    objects = []
    for i, o in enumerate(doc.get("object", [])):
        label = f"[[object]] #{i + 1}"
        if not isinstance(o, dict):
            raise fail(label, "must be a table")
        table("object", o, label)
        attrs = o.get("attributes", {})
        if not isinstance(attrs, dict) or not all(isinstance(v, str) for v in attrs.values()):
            raise fail(f"{label}.attributes", "must be an inline table of attribute name = column")
        pattern = text(o, "pattern", label)
        if pattern is not None:
            try:
                groups = re.compile(pattern).groups
            except re.error as exc:
                raise fail(f"{label}.pattern", f"not a valid regular expression ({exc})") from None
            if groups < 1:
                raise fail(f"{label}.pattern", "needs a group: its first group is the key, e.g. '^PO-(\\d+)$'")
        template = text(o, "template", label)
        if template is not None and "{}" not in template:
            raise fail(f"{label}.template", "must contain {} where the key goes, e.g. \"PO-{}\"")
        objects.append(ObjectMapping(
            type=text(o, "type", label, True), id=text(o, "id", label, True), pattern=pattern,
            template=template, separator=text(o, "separator", label),
            qualifier=text(o, "qualifier", label), attributes=dict(attrs)))

    types = {o.type for o in objects}
    links = []
    for i, link in enumerate(doc.get("link", [])):
        label = f"[[link]] #{i + 1}"
        if not isinstance(link, dict):
            raise fail(label, "must be a table")
        table("link", link, label)
        ends = [text(link, "source", label, True), text(link, "target", label, True)]
        for key, t in zip(("source", "target"), ends):
            if t not in types:
                raise fail(f"{label}.{key}", f"{t!r} is not the type of an [[object]] above; "
                           f"accepted: {', '.join(sorted(types)) or '(no [[object]] defined)'}")
        links.append(LinkMapping(source=ends[0], target=ends[1], qualifier=text(link, "qualifier", label)))

    attributes = dict(table("attributes", doc.get("attributes", {}), "[attributes]"))
    named = set(attributes) | {k for o in objects for k in o.attributes}
    values = {}
    for name, translation in doc.get("values", {}).items():
        label = f"[values.{name}]"
        if not isinstance(translation, dict) or not all(isinstance(v, str) for v in translation.values()):
            raise fail(label, 'must be a table of source value = canonical value, e.g. "Operating Room" = "OR"')
        if name not in named:
            raise fail(label, f"{name!r} is no attribute of this mapping; attributes: "
                              f"{', '.join(sorted(named)) or '(none in [attributes] or [[object]].attributes)'}")
        values[name] = dict(translation)

    return Mapping(
        path=where,
        system=text(source, "system", "[source]", True),
        files=tuple(files), format=fmt, delimiter=delimiter, encoding=encoding,
        event_id=text(event, "id", "[event]"),
        activity=text(event, "activity", "[event]", True),
        timestamp=text(event, "timestamp", "[event]", True),
        timestamp_format=text(event, "timestamp_format", "[event]"),
        timezone=zone, timezone_column=text(event, "timezone_column", "[event]"),
        facility=text(event, "facility", "[event]"), actor=text(event, "actor", "[event]"),
        actor_kind=text(event, "actor_kind", "[event]"), default_actor_kind=default_kind,
        activities=dict(table("activities", doc.get("activities", {}), "[activities]")),
        actor_kinds=dict(kinds),
        facilities=dict(table("facilities", doc.get("facilities", {}), "[facilities]")),
        attributes=attributes, values=values,
        objects=tuple(objects), links=tuple(links),
    )
