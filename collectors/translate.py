"""Applying a mapping to a staged chunk of a state log, in DuckDB SQL over columns.

A `Translator` holds an in-memory DuckDB connection (no store: it only computes). Each chunk
arrives as an Arrow table `src` with the 1-based line number `_line` and either the CSV's
columns (all strings) or the JSON line `_raw`; out come the canonical tables and the
(line, reason) of every row that could not be mapped.
"""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa

from collectors.mappings import Mapping
from models.batches import Batch
from models.vocabulary import TIMESTAMP_OUTLIER

CSV, JSONL = "csv", "jsonl"
# Lookup tables ([activities], [facilities], [actor_kinds]) up to this size are applied as MAP
# literals, which keep the rows in line order; larger ones as joins, whose output is sorted again.
MAP_LOOKUP_MAX = 64
NUMBER = r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?"
OFFSET = r"[0-9]:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?\s*(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$"


def lit(value: str | None) -> str:
    """A SQL string literal (or NULL)."""
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Translator:
    def __init__(self, mapping: Mapping, flavour: str, columns: list[str] | None = None):
        self.m = mapping
        self.flavour = flavour
        self.columns = columns or []
        # JSONL: each line is parsed once by json_transform into a struct of its mapped fields,
        # text where only text is read, JSON where attributes are (their text taken from it).
        # Struct fields are case-insensitive: names equal but for case are extracted apart.
        self.as_json = set(mapping.attribute_columns())
        lower = [c.lower() for c in mapping.columns()]
        self.apart = [c for c, low in zip(mapping.columns(), lower) if lower.count(low) > 1]
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        # One thread: the readers translate on a thread of their own while the store writes the
        # batch before on the other core, so more threads here would only contend with it.
        self.con.execute("SET threads = 1")
        self.con.execute("CREATE TEMP TABLE zones AS SELECT DISTINCT name FROM pg_timezone_names()")
        for name, table in (("activity_map", mapping.activities), ("facility_map", mapping.facilities),
                            ("actor_kind_map", mapping.actor_kinds)):
            self.con.register(name, pa.table({"source": list(table), "target": list(table.values())},
                                             schema=pa.schema([("source", pa.string()), ("target", pa.string())])))
        self.sql = self._statements()

    def close(self) -> None:
        self.con.close()

    # -- expressions over `src` -------------------------------------------------------------
    def _text(self, column: str | None) -> str:
        if column is None:
            return "NULL::VARCHAR"
        if self.flavour == CSV:
            return f"nullif(trim({ident(column)}), '')"
        return f"nullif(trim({self._raw_cell(column)}), '')"

    def _json(self, column: str) -> str:
        if self.flavour == CSV:
            v = f"nullif({ident(column)}, '')"
            return (f"CASE WHEN {v} IS NULL THEN NULL::JSON WHEN regexp_full_match({v}, {lit(NUMBER)}) "
                    f"THEN {v}::JSON ELSE to_json({v}) END")
        if column in self.apart:
            return f"_a{self.apart.index(column)}"
        return f"struct_extract(_r, {lit(column)})"

    @staticmethod
    def _path(column: str) -> str:
        return '$."' + column.replace('"', '\\"') + '"'

    def _object(self, attrs: dict[str, str]) -> str:
        if not attrs:
            return "'{}'::JSON"
        return "json_object(" + ", ".join(f"{lit(k)}, {self._json(c)}" for k, c in attrs.items()) + ")"

    def _statements(self) -> dict:
        """The chunk's SQL: two materialised steps (`p`: one row per record with its event, time
        and reason; `eo`: one row per record and object) and the small table `bad`; the outputs
        read them directly, leaving out the lines in `bad` ("kept"; "all" when it is empty)."""
        m = self.m
        not_blank = "true"
        if self.flavour == CSV:
            not_blank = " OR ".join(f"{ident(c)} <> ''" for c in self.columns) or "true"
        if m.event_id:
            event_id = f"{lit(m.system + ':')} || {self._text(m.event_id)}"
        elif self.flavour == CSV:
            event_id = "md5(concat_ws(chr(31), " + ", ".join([lit(m.system)] + [ident(c) for c in self.columns]) + "))"
        else:
            event_id = f"md5({lit(m.system)} || chr(31) || trim(_raw))"
        # Each attribute column becomes JSON once (_j<n>), however many objects record it.
        attr_columns = m.attribute_columns()
        j = {c: f"_j{n}" for n, c in enumerate(attr_columns)}

        def value(name: str, column: str) -> str:
            """Attribute `name` read from `column`, as JSON, through the mapping's [values.<name>]."""
            translation = m.values.get(name)
            if not translation:
                return j[column]
            cases = " ".join(f"WHEN {lit(src)} THEN {lit(json.dumps(dst))}::JSON" for src, dst in translation.items())
            return f"CASE {j[column]} ->> '$' {cases} ELSE {j[column]} END"

        def obj(attrs: dict[str, str]) -> str:
            if not attrs:
                return "'{}'::JSON"
            return "json_object(" + ", ".join(f"{lit(k)}, {value(k, c)}" for k, c in attrs.items()) + ")"

        # p keeps only what the outputs read: the object cells and the attribute values as JSON
        objects = "".join(f", {self._raw_cell(o.id)} AS o{i}" for i, o in enumerate(m.objects))
        objects_kept = "".join(f", o{i}" for i in range(len(m.objects)))
        jsons_kept = "".join(f", {v}" for v in j.values())
        jsons = "".join(f", {self._json(c)} AS {j[c]}" for c in attr_columns)
        if self.flavour == JSONL:
            fields = {c: "JSON" if c in self.as_json else "VARCHAR" for c in m.columns() if c not in self.apart}
            spec = lit(json.dumps(fields or {"-": "VARCHAR"}))
            apart = "".join(f", CASE WHEN _ok THEN json_extract(_raw, {lit(self._path(c))}) END AS _a{n}"
                            for n, c in enumerate(self.apart))
            # one JSON parse per line (json_transform, half what extracting a list of values and
            # taking each one's text cost); a line that is no JSON object stays (_ok false) for its
            # reason. Blank lines (only what trim() removes, the Unicode spaces) are skipped;
            # regular expressions stop at the first character that decides, where trim() and
            # ltrim() copy every line (a third of the step's time).
            source = f"""(SELECT _line, _raw, _ok, CASE WHEN _ok THEN json_transform(_raw, {spec}) END AS _r {apart}
                          FROM (SELECT *, regexp_matches(_raw, '^[ \t\r]*[{{]') AND json_valid(_raw) AS _ok
                                FROM src WHERE regexp_matches(_raw, '[^\\p{{Zs}}]')))"""
        else:
            source = "src"

        fmt = m.timestamp_format
        zone_known = bool(self.con.sql("SELECT count(*) FROM zones WHERE name = $z", params={"z": m.timezone}).fetchall()[0][0])
        if m.timezone_column:
            zone = f"coalesce({self._text(m.timezone_column)}, {lit(m.timezone)})"
            zone_ok, zone_name, zones_join = "z.name IS NOT NULL", "coalesce(z.name, 'UTC')", "LEFT JOIN zones z ON z.name = s.zone"
        else:
            zone = lit(m.timezone)
            zone_ok, zone_name, zones_join = ("true", lit(m.timezone), "") if zone_known else ("false", "'UTC'", "")
        if fmt and ("%z" in fmt or "%Z" in fmt):
            parse = f"timezone('UTC', try_strptime(ts_text, {lit(fmt)}))"
            has_offset = "true"
        else:
            naive = f"try_strptime(ts_text, {lit(fmt)})" if fmt else "try_cast(ts_text AS TIMESTAMP)"
            has_offset = "false" if fmt else f"regexp_matches(ts_text, {lit(OFFSET)})"
            local = naive if zone_name == "'UTC'" else f"timezone('UTC', timezone({zone_name}, {naive}))"
            parse = (local if has_offset == "false" else
                     f"CASE WHEN {has_offset} THEN timezone('UTC', try_cast(ts_text AS TIMESTAMPTZ)) ELSE {local} END")
        expected = f"format {fmt}" if fmt else "ISO 8601, e.g. 2024-03-31 14:05:00 or 2024-03-31T14:05:00+02:00"
        tz_col = m.timezone_column or "timezone"
        reasons = [("NOT _ok", """CASE WHEN json_valid(_raw)
                        THEN 'a JSON ' || CASE WHEN json_type(_raw) IN ('UBIGINT', 'BIGINT', 'DOUBLE') THEN 'number'
                                            WHEN json_type(_raw) = 'VARCHAR' THEN 'string'
                                            ELSE lower(json_type(_raw)) END || ', expected a JSON object per line'
                        ELSE 'not valid JSON (truncated or malformed line), expected a JSON object per line' END""")
                   ] if self.flavour == JSONL else []
        reasons += [
            ("act_src IS NULL", lit(f'column "{m.activity}": empty, expected an activity')),
            ("ts_text IS NULL", lit(f'column "{m.timestamp}": empty, expected a timestamp')),
            ("NOT zone_ok AND NOT has_offset",
             f"{lit(f'column {chr(34)}{tz_col}{chr(34)}: unknown time zone ')} || to_json(zone)::VARCHAR || "
             f"{lit(', expected an IANA name such as Europe/Berlin')}"),
            ("ts IS NULL", f"{lit(f'column {chr(34)}{m.timestamp}{chr(34)}: ')} || to_json(ts_text)::VARCHAR || "
                           f"{lit(f' is not a timestamp, expected {expected}')}"),
        ]
        if m.event_id:
            reasons.append(("key IS NULL", lit(f'column "{m.event_id}": empty, expected the source key')))
        reason = "CASE " + " ".join(f"WHEN {c} THEN {r}" for c, r in reasons) + " END"
        ok = "_ok, CASE WHEN NOT _ok THEN _raw END AS _raw," if self.flavour == JSONL else ""
        parsed = f"""
            CREATE OR REPLACE TEMP TABLE p AS
            SELECT _line, event_id, act_src, ts, fac_src, actor, ak_src {objects_kept}{jsons_kept}, {reason} AS reason FROM (
                SELECT s.*, {zone_ok} AS zone_ok, coalesce({has_offset}, false) AS has_offset, {parse} AS ts
                FROM (SELECT _line, {ok} {self._text(m.activity)} AS act_src, {self._text(m.timestamp)} AS ts_text,
                             {zone} AS zone, {self._text(m.event_id)} AS key, {event_id} AS event_id,
                             {self._text(m.facility)} AS fac_src, {self._text(m.actor)} AS actor,
                             {self._text(m.actor_kind)} AS ak_src {objects}{jsons_kept}
                      FROM (SELECT * {jsons} FROM {source} WHERE {not_blank})) s {zones_join})"""

        # Each object attribute has a column of eo (v<n>, its value as JSON text), filled in the
        # rows of its object only: object_change reads each column apart (cheaper than a list of
        # structs per row unnested).
        slots = [(i, name, column) for i, o in enumerate(m.objects) for name, column in o.attributes.items()]
        parts = []
        for i, o in enumerate(m.objects):
            cell = f"unnest(string_split(o{i}, {lit(o.separator)}))" if o.separator else f"o{i}"
            values = "".join(f", ({value(name, column)})::VARCHAR AS v{n}" if oi == i else f", NULL::VARCHAR AS v{n}"
                             for n, (oi, name, column) in enumerate(slots))
            key = f"nullif(regexp_extract(v, {lit(o.pattern)}, 1), '')" if o.pattern else "v"
            oid = f"replace({lit(o.template)}, '{{}}', {key})" if o.template else key
            parts.append(f"""
                SELECT _line, event_id, ts, {i} AS oi, {lit(o.type)} AS type, {lit(o.qualifier)} AS qualifier,
                       object_id {"".join(f", v{n}" for n in range(len(slots)))},
                       CASE WHEN object_id IS NULL THEN {lit(f'column "{o.id}": ')} || to_json(v)::VARCHAR ||
                            {lit(f' does not match pattern {o.pattern}, expected a {o.type} key')} END AS reason
                FROM (SELECT *, {oid} AS object_id FROM (
                      SELECT _line, event_id, ts {values},
                             nullif(trim({cell}), '') AS v FROM p)
                      WHERE v IS NOT NULL)""")
        eo = ("CREATE OR REPLACE TEMP TABLE eo AS " + " UNION ALL ".join(parts) if parts else
              "CREATE OR REPLACE TEMP TABLE eo AS SELECT NULL::BIGINT AS _line, NULL::VARCHAR AS event_id, "
              "NULL::TIMESTAMP AS ts, 0 AS oi, NULL::VARCHAR AS type, NULL::VARCHAR AS qualifier, "
              "NULL::VARCHAR AS object_id, NULL::VARCHAR AS reason WHERE false")
        bad = """
            CREATE OR REPLACE TEMP TABLE bad AS
            SELECT _line, arg_min(reason, k) AS reason FROM (
                SELECT _line, reason, 0 AS k FROM p WHERE reason IS NOT NULL
                UNION ALL SELECT _line, reason, 1 + oi AS k FROM eo WHERE object_id IS NULL)
            GROUP BY _line ORDER BY _line"""
        # An object's attributes as first seen: built for that one row of each object, not for
        # every row that names it. Its first row is the least _line * n + oi.
        n = max(len(m.objects), 1)
        first_attrs = ("CASE f.k % " + str(n) + " " + " ".join(f"WHEN {i} THEN {obj(o.attributes)}" for i, o in enumerate(m.objects))
                       + " END") if m.objects else "NULL::JSON"
        first_type = ("CASE f.k % " + str(n) + " " + " ".join(f"WHEN {i} THEN {lit(o.type)}" for i, o in enumerate(m.objects))
                      + " END") if m.objects else "NULL::VARCHAR"
        joins, lookups = [], {}
        for alias, column, table, name in (("a", "act_src", m.activities, "activity_map"),
                                           ("f", "fac_src", m.facilities, "facility_map"),
                                           ("ak", "ak_src", m.actor_kinds, "actor_kind_map")):
            if not table:
                lookups[column] = f"p.{column}"
            elif len(table) <= MAP_LOOKUP_MAX:
                pairs = ", ".join(f"{lit(k)}: {lit(v)}" for k, v in table.items())
                lookups[column] = f"coalesce(MAP {{{pairs}}}[p.{column}], p.{column})"
            else:
                lookups[column] = f"coalesce({alias}.target, p.{column})"
                joins.append(f"LEFT JOIN {name} {alias} ON {alias}.source = p.{column}")
        actor_kind = lookups["ak_src"] if m.actor_kind else lit(m.default_actor_kind)

        def outputs(filtered: bool) -> dict[str, str | None]:
            """The output queries; `filtered`: leaving out the lines in `bad`."""
            kept = "_line NOT IN (SELECT _line FROM bad)"
            ego = f"(SELECT * FROM eo WHERE {kept})" if filtered else "eo"
            links = [f"""SELECT a.object_id AS source_id, b.object_id AS target_id, {lit(k.qualifier)} AS qualifier
                         FROM {ego} a JOIN {ego} b ON a._line = b._line AND a.type = {lit(k.source)} AND b.type = {lit(k.target)}"""
                     for k in m.links]
            return {
                "event": f"""
                    SELECT p.event_id, {lookups["act_src"]} AS activity, p.ts,
                           {lit(m.system)} AS source_system, {lookups["fac_src"]} AS facility,
                           p.actor, {actor_kind} AS actor_kind, {obj(m.attributes)}::VARCHAR AS attributes,
                           CASE WHEN p.ts < TIMESTAMP '1990-01-01' OR p.ts > now()::TIMESTAMP + INTERVAL 1 YEAR
                                THEN [{lit(TIMESTAMP_OUTLIER)}] ELSE []::VARCHAR[] END AS flags,
                           p._line AS source_order
                    FROM p {" ".join(joins)}
                    {"WHERE p." + kept if filtered else ""} {"ORDER BY p._line" if joins else ""}""",
                "object": f"""SELECT f.object_id, {first_type} AS object_type, {lit(m.system)} AS source_system,
                                     {first_attrs}::VARCHAR AS attributes
                              FROM (SELECT object_id, min(_line * {n} + oi) AS k FROM {ego} GROUP BY object_id) f
                              JOIN p ON p._line = f.k // {n} ORDER BY f.object_id""",
                "object_change": " UNION ALL ".join(
                    f"""SELECT object_id, ts, {lit(name)} AS attribute, v{n} AS value FROM {ego}
                        WHERE oi = {oi} AND v{n} IS NOT NULL AND v{n} <> 'null'""" for n, (oi, name, _) in enumerate(slots))
                    or None,
                "event_object": f"SELECT DISTINCT event_id, object_id, qualifier FROM {ego}",
                "object_object": " UNION ".join(links) if links else None,
            }

        # Lines rejected are few or none: when none, the outputs read p and eo without a filter.
        return {"parsed": parsed, "eo": eo, "bad": bad, "bad_rows": "SELECT _line, reason FROM bad",
                "all": outputs(False), "kept": outputs(True)}

    def _raw_cell(self, column: str) -> str:
        if self.flavour == CSV:
            return ident(column)
        if column in self.as_json or column in self.apart:
            return f"({self._json(column)} ->> '$')"
        return f"struct_extract(_r, {lit(column)})"

    # -- one chunk ----------------------------------------------------------------------------
    def translate(self, src: pa.Table) -> tuple[Batch, list[tuple[int, str]]]:
        """The canonical tables of the chunk `src`, and (line, reason) for each rejected row."""
        con, q = self.con, self.sql
        con.register("src", src)
        try:
            for step in ("parsed", "eo", "bad"):
                con.execute(q[step])
        finally:
            con.unregister("src")
        bad = con.sql(q["bad_rows"]).fetchall()
        outputs = q["kept"] if bad else q["all"]
        out = {name: con.sql(query).to_arrow_table() for name, query in outputs.items() if query}
        return Batch(**out), bad
