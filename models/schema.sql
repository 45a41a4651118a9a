-- The canonical store: OCEL 2.0-aligned (events, objects, their qualified relations and
-- attribute changes) plus the spans as received, load lineage and rejected records.
-- Every timestamp is UTC (TIMESTAMP without zone); the source's zone is applied at collection.
-- No PRIMARY KEYs and no indexes: loads deduplicate by set operations on the batch (keys noted per
-- table), an order of magnitude faster than index maintenance on bulk inserts, and DuckDB's ART
-- indexes on tables that refreshes delete from failed a 1M-order import's commit ("Failed to delete
-- all rows from index", which invalidates the database) while giving point lookups no measurable
-- speed (3.6 ms per case with or without, after warm-up).

CREATE TABLE IF NOT EXISTS schema_info (
    version     INTEGER NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

-- One row per load (a file, an OTLP request, a replay). key: batch_id
CREATE TABLE IF NOT EXISTS ingest_batch (
    batch_id     VARCHAR NOT NULL,
    seq          BIGINT NOT NULL,       -- load order; the store's data version is max(seq)
    source       VARCHAR NOT NULL,      -- file path, endpoint or 'replay'
    kind         VARCHAR NOT NULL,      -- state_log | trace_file | otlp | replay
    mapping      VARCHAR,               -- mapping file applied, if any
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP NOT NULL,
    accepted     BIGINT NOT NULL,       -- new events + new spans
    duplicates   BIGINT NOT NULL,       -- events + spans already in the store or repeated in the load
    rejected     BIGINT NOT NULL        -- records sent to dead_letter
);

-- How far the derived tables (case_event, sync_hop, …) have caught up: every load with seq up to
-- `seq` is in them. One row; `seq` is the store's data version. Moved by models/store.py.
CREATE TABLE IF NOT EXISTS derived_through (
    seq           BIGINT NOT NULL,
    caught_up_at  TIMESTAMP             -- when it last moved
);

-- key: event_id  ("<source system>:<source key>" or a content hash)
CREATE TABLE IF NOT EXISTS event (
    event_id       VARCHAR NOT NULL,
    activity       VARCHAR NOT NULL,
    ts             TIMESTAMP NOT NULL,
    source_system  VARCHAR NOT NULL,
    facility       VARCHAR,
    actor          VARCHAR,
    actor_kind     VARCHAR,             -- person | service
    attributes     JSON,
    flags          VARCHAR[],           -- data-quality marks kept with the event, e.g. timestamp_outlier
    source_order   BIGINT NOT NULL,     -- position in the source; breaks ties of equal ts
    batch_id       VARCHAR NOT NULL
);

-- key: object_id
CREATE TABLE IF NOT EXISTS object (
    object_id      VARCHAR NOT NULL,
    object_type    VARCHAR NOT NULL,    -- requisition, purchase_order, invoice, … or an imported type
    source_system  VARCHAR,
    attributes     JSON,                -- attributes as first seen; later values in object_change
    batch_id       VARCHAR NOT NULL
);

-- Attribute values over time (OCEL 2.0 object attribute changes). key: object_id, ts, attribute
CREATE TABLE IF NOT EXISTS object_change (
    object_id   VARCHAR NOT NULL,
    ts          TIMESTAMP NOT NULL,
    attribute   VARCHAR NOT NULL,
    value       JSON,
    batch_id    VARCHAR NOT NULL
);

-- E2O. key: event_id, object_id, qualifier
CREATE TABLE IF NOT EXISTS event_object (
    event_id   VARCHAR NOT NULL,
    object_id  VARCHAR NOT NULL,
    qualifier  VARCHAR NOT NULL DEFAULT '',
    batch_id   VARCHAR                  -- the load that first stored the relation
);

-- O2O. key: source_id, target_id, qualifier
CREATE TABLE IF NOT EXISTS object_object (
    source_id  VARCHAR NOT NULL,
    target_id  VARCHAR NOT NULL,
    qualifier  VARCHAR NOT NULL DEFAULT ''
);

-- O2O both ways, for reading an object's links by key: each object_object row twice, once from
-- each end (object_id: that end, linked_id: the other), keyed by hash(object_id). Read by key and
-- id: DuckDB filters the key column inside its scan for a few objects (not the ids of every link),
-- and rows stay in load order, so for more the range of the ids sought skips older row groups.
-- Written with object_object by the load (O2O rows carry no batch id: no refresh could find them).
-- key: object_id, linked_id, qualifier, outgoing
CREATE TABLE IF NOT EXISTS object_link (
    object_key  UBIGINT NOT NULL,       -- hash(object_id)
    object_id   VARCHAR NOT NULL,
    linked_id   VARCHAR NOT NULL,
    qualifier   VARCHAR NOT NULL,
    outgoing    BOOLEAN NOT NULL        -- object_id is the O2O row's source_id
);

-- OpenTelemetry spans as received; ids lower-case hex. key: trace_id, span_id
CREATE TABLE IF NOT EXISTS span (
    trace_id        VARCHAR NOT NULL,
    span_id         VARCHAR NOT NULL,
    parent_span_id  VARCHAR,
    name            VARCHAR NOT NULL,
    kind            VARCHAR,            -- SERVER | CLIENT | PRODUCER | CONSUMER | INTERNAL
    service         VARCHAR,            -- resource service.name
    start_time      TIMESTAMP NOT NULL,
    end_time        TIMESTAMP NOT NULL,
    status_code     VARCHAR,            -- UNSET | OK | ERROR
    status_message  VARCHAR,
    attributes      JSON,
    resource        JSON,
    scope           VARCHAR,
    events          JSON,
    links           JSON,
    batch_id        VARCHAR NOT NULL
);

-- Every rejected record, kept for inspection and replay. key: letter_id (hash of source, position, raw)
CREATE TABLE IF NOT EXISTS dead_letter (
    letter_id    VARCHAR NOT NULL,
    batch_id     VARCHAR NOT NULL,
    source       VARCHAR NOT NULL,      -- file path or endpoint
    position     VARCHAR NOT NULL,      -- "line 12", "row 7", "byte 4096", "span 3 of request"
    raw          VARCHAR NOT NULL,      -- the record exactly as received
    reason       VARCHAR NOT NULL,
    mapping      VARCHAR,               -- mapping it was read with, if any (replay may take another)
    received_at  TIMESTAMP NOT NULL,
    replayed_in  VARCHAR,               -- batch_id of the replay that accepted it
    context      VARCHAR                -- JSON: what re-reading `raw` needs, e.g. a CSV's
                                        -- {"format": "csv", "header": "...", "delimiter": ";"}
);

-- Derived at load -------------------------------------------------------------------------------
-- Kept by models/mining.py `refresh` in the load's transaction, for the objects the load touched;
-- never written by collectors. A case is one object of a type; its events are those related to
-- it in event_object (OCEL flattening: an event related to two objects is in both cases).

-- A case's events in order (ts, source_order, event_id); master data (vocabulary.MASTER_DATA)
-- is no case notion. key: case_id, position
CREATE TABLE IF NOT EXISTS case_event (
    object_type    VARCHAR NOT NULL,
    case_id        VARCHAR NOT NULL,    -- object_id
    position       INTEGER NOT NULL,    -- 1 for the case's first event
    event_id       VARCHAR NOT NULL,
    activity       VARCHAR NOT NULL,
    ts             TIMESTAMP NOT NULL,
    facility       VARCHAR,
    next_activity  VARCHAR,             -- NULL on the case's last event
    next_ts        TIMESTAMP,
    case_facility  VARCHAR,             -- the one facility its events name (those naming none
                                        -- don't count), else NULL
    case_start     TIMESTAMP NOT NULL   -- ts of the case's first event (period filters select cases by it)
);

-- One row per case: its variant and span. key: case_id
CREATE TABLE IF NOT EXISTS case_variant (
    object_type    VARCHAR NOT NULL,
    case_id        VARCHAR NOT NULL,
    variant        VARCHAR[] NOT NULL,  -- the case's activities in order
    variant_hash   UBIGINT NOT NULL,    -- hash(variant), to group by
    events         INTEGER NOT NULL,
    start_ts       TIMESTAMP NOT NULL,
    end_ts         TIMESTAMP NOT NULL,
    case_facility  VARCHAR
);

-- Sync lag: one row per business event x target system, from the spans that carried it
-- (DESIGN.md, "Span conventions"); kept by models/sync_lag.py `refresh` for the traces and
-- events a load touched. key: event_id, target_system
CREATE TABLE IF NOT EXISTS sync_hop (
    event_id        VARCHAR NOT NULL,   -- p2p.event.id
    target_system   VARCHAR NOT NULL,   -- p2p.target.system
    event_type      VARCHAR,
    object_type     VARCHAR,
    object_id       VARCHAR,
    source_system   VARCHAR,
    facility        VARCHAR,            -- p2p.facility.id, else the event's facility
    supplier        VARCHAR,
    service         VARCHAR,            -- integration service that wrote (or tried to write) it
    trace_id        VARCHAR NOT NULL,   -- the trace of the commit, else the first trace
    trace_ids       VARCHAR[],          -- every trace that carried it (re-publishes)
    event_time      TIMESTAMP NOT NULL, -- event.ts from the state log, else the root span's start
    published_at    TIMESTAMP NOT NULL, -- start of the root span
    commit_time     TIMESTAMP,          -- end of the first successful write; NULL = not committed
    commit_span_id  VARCHAR,
    lag_s           DOUBLE,             -- commit_time - event_time, seconds
    attempts        BIGINT NOT NULL,    -- write attempts (CLIENT spans); retries = attempts - 1
    got_429         BOOLEAN NOT NULL,
    got_5xx         BOOLEAN NOT NULL,
    last_seen       TIMESTAMP NOT NULL  -- latest span end of the hop
);

-- The current documents: one row per PO line, invoice line and invoice with its current
-- attributes and relations (models/sql/documents.sql says how each is derived), kept by
-- models/documents.py `refresh` for the documents a load touched. match.sql, audit.sql and
-- kpis.sql read them by these names. key: po_line_id
CREATE TABLE IF NOT EXISTS po_lines (
    po_line_id      VARCHAR NOT NULL,
    po_id           VARCHAR,
    line_no         VARCHAR,
    item            VARCHAR,
    unspsc          VARCHAR,
    quantity        DOUBLE,
    unit_price      DOUBLE,
    contract_price  DOUBLE,
    supplier_id     VARCHAR,
    facility        VARCHAR,
    department      VARCHAR,
    flow            VARCHAR,            -- the requisition's kind of purchase: stock, bill_only, service
    created_at      TIMESTAMP,          -- the order's Create Purchase Order
    created_by      VARCHAR
);

-- What was received per PO line. key: po_line_id
CREATE TABLE IF NOT EXISTS receipts (
    po_line_id         VARCHAR NOT NULL,
    po_id              VARCHAR,
    received_quantity  DOUBLE NOT NULL,  -- receipts minus returns
    goods_receipts     BIGINT NOT NULL,
    returns            BIGINT NOT NULL,
    order_receipts     BIGINT NOT NULL,  -- receipts naming the order but none of its lines (usage)
    first_receipt_at   TIMESTAMP,
    last_receipt_at    TIMESTAMP
);

-- key: invoice_line_id
CREATE TABLE IF NOT EXISTS invoice_lines (
    invoice_line_id  VARCHAR NOT NULL,
    invoice_id       VARCHAR,
    po_line_id       VARCHAR,
    quantity         DOUBLE,
    unit_price       DOUBLE,
    line_amount      DOUBLE
);

-- key: invoice_id
CREATE TABLE IF NOT EXISTS invoices (
    invoice_id               VARCHAR NOT NULL,
    supplier_id              VARCHAR,
    supplier_invoice_number  VARCHAR,
    number_key               VARCHAR,   -- the number normalised, as duplicate checks compare it
    amount                   DOUBLE,
    invoice_date             DATE,
    due_date                 DATE,
    payment_terms            VARCHAR,
    ap_match_result          VARCHAR,   -- the AP platform's latest Match Invoice verdict
    ap_exception_reason      VARCHAR,
    ap_match_type            VARCHAR,
    po_id                    VARCHAR,
    facility                 VARCHAR,
    department               VARCHAR,
    category                 VARCHAR,   -- UNSPSC segment of the order's first line
    flow                     VARCHAR,
    po_created_at            TIMESTAMP,
    po_created_by            VARCHAR,
    received_at              TIMESTAMP, -- first Receive Invoice
    approved_at              TIMESTAMP, -- last Approve Invoice
    approved_by              VARCHAR,
    paid_at                  TIMESTAMP, -- first Release Payment
    first_event_at           TIMESTAMP,
    first_match              VARCHAR,   -- the first Match Invoice verdict
    match_events             BIGINT NOT NULL,
    exceptions               BIGINT NOT NULL,   -- Flag Match Exception events
    block_times              TIMESTAMP[],       -- every Block Invoice (blocks are read as of a moment)
    release_times            TIMESTAMP[],       -- every Release Invoice Block
    hold_reason              VARCHAR,   -- of the latest block
    routed_to                VARCHAR,
    routing_rule             VARCHAR,
    touches                  BIGINT NOT NULL,   -- events by a person from receipt to approval, approval left out
    discount_pct             DOUBLE,    -- payment terms "2/10 Net 30": 2, 10, 30
    discount_days            INTEGER,
    net_days                 INTEGER,
    contract_lines           BIGINT NOT NULL,   -- its priced lines of order lines under a GPO contract
    compliant_lines          BIGINT NOT NULL    -- of those, priced at or below the contract price
);

-- Match exceptions: the exception object a Flag Match Exception names (else the invoice), its
-- invoice, when first flagged and first resolved. key: exception_id
CREATE TABLE IF NOT EXISTS match_exceptions (
    exception_id       VARCHAR NOT NULL,
    invoice_id         VARCHAR,
    flagged_at         TIMESTAMP,
    first_resolved_at  TIMESTAMP
);

-- What the audit controls find (models/controls.py CONTROLS, with their default settings), one
-- row per finding, kept by models/controls.py `refresh` for the invoices the documents refresh
-- re-derived and the suppliers a load touched; counts and a case's findings read it.
-- key: control, invoice_id, original_invoice_id, po_id, payment_id, found_at
CREATE TABLE IF NOT EXISTS control_findings (
    control              VARCHAR NOT NULL,  -- four_eyes | duplicate_invoices | po_after_invoice | bank_change_before_payment
    invoice_id           VARCHAR,
    original_invoice_id  VARCHAR,           -- duplicates: the invoice repeated
    po_id                VARCHAR,
    payment_id           VARCHAR,
    supplier_id          VARCHAR,
    facility             VARCHAR,
    department           VARCHAR,
    person               VARCHAR,
    amount               DOUBLE,
    found_at             TIMESTAMP,         -- approved_at (four-eyes), po_created_at (after-the-fact), changed_at (bank)
    reason               VARCHAR
);

-- Per invoice case: whether it is traceable (the KPI audit_traceability, models/sql/kpis.sql
-- derive_traceability), kept by models/kpis.py `refresh` for the invoice cases a load touched or
-- whose events a load's spans carried. key: invoice_id
CREATE TABLE IF NOT EXISTS invoice_traceability (
    invoice_id  VARCHAR NOT NULL,
    started_at  TIMESTAMP NOT NULL,     -- the case's first event
    complete    BOOLEAN,                -- every event has an actor, a time and a source system
    traced      BOOLEAN                 -- every hop between systems has a committed sync_hop
);

-- Every span with its p2p.* keys unpacked from the attributes JSON, so a case's trail finds the
-- spans naming its events and objects, and Data health counts traffic per service and facility,
-- without parsing every span's attributes. Spans are only ever added, so models/health.py
-- `refresh` copies the spans of the loads being derived. key: trace_id, span_id
CREATE TABLE IF NOT EXISTS span_p2p (
    trace_id     VARCHAR NOT NULL,
    span_id      VARCHAR NOT NULL,
    service      VARCHAR,
    start_time   TIMESTAMP NOT NULL,
    end_time     TIMESTAMP NOT NULL,
    status_code  VARCHAR,
    event_id     VARCHAR,               -- p2p.event.id
    event_type   VARCHAR,               -- p2p.event.type
    object_id    VARCHAR,               -- p2p.object.id
    facility     VARCHAR,               -- p2p.facility.id
    batch_id     VARCHAR NOT NULL
);

-- Spans per integration service, facility and day (Data health's integration traffic reads a few
-- thousand of these rows, not every span). Added to by each refresh from the spans it copied into
-- span_p2p (models/health.py), so it relies on every load being derived once (store.py's mark).
-- key: service, facility, day
CREATE TABLE IF NOT EXISTS service_day (
    service     VARCHAR NOT NULL,       -- '(unknown)' when the span named none
    facility    VARCHAR,                -- p2p.facility.id
    day         DATE NOT NULL,          -- of the span's start
    spans       BIGINT NOT NULL,
    errors      BIGINT NOT NULL,        -- spans with status ERROR
    first_span  TIMESTAMP NOT NULL,     -- earliest start
    last_span   TIMESTAMP NOT NULL      -- latest end
);

-- Per case: the facilities of its events and whether a span carried any of them (the Data
-- health page's span coverage), kept by models/health.py `refresh` for the cases a load touched
-- or whose events a load's spans carried. key: object_type, case_id
CREATE TABLE IF NOT EXISTS case_coverage (
    object_type         VARCHAR NOT NULL,
    case_id             VARCHAR NOT NULL,
    facilities          VARCHAR[] NOT NULL,  -- of its events
    carried             BOOLEAN NOT NULL,    -- a span carried at least one of its events
    carried_facilities  VARCHAR[] NOT NULL   -- of its events a span carried
);

-- Cases per case notion and combination of case_coverage's columns: the span coverage Data health
-- shows, per facility too, read from a few hundred rows instead of one per case. Kept by
-- models/health.py `refresh`: the cases it judges again are taken off as they were judged and
-- added as they are now. key: object_type, facilities, carried, carried_facilities
CREATE TABLE IF NOT EXISTS case_coverage_count (
    object_type         VARCHAR NOT NULL,
    facilities          VARCHAR[] NOT NULL,
    carried             BOOLEAN NOT NULL,
    carried_facilities  VARCHAR[] NOT NULL,
    cases               BIGINT NOT NULL
);

-- Values the filter bar offers: the suppliers with their current names (the latest `name`
-- change, else the name first seen) and the UNSPSC segments ordered, kept by models/dimensions.py
-- `refresh` for the suppliers and PO lines the loads touched, so no page scans object_change or
-- po_lines for them (facilities and the period come from event_daily). key: dimension, value
CREATE TABLE IF NOT EXISTS dimension_value (
    dimension  VARCHAR NOT NULL,        -- supplier | category
    value      VARCHAR NOT NULL,
    label      VARCHAR NOT NULL         -- what the filter shows
);

-- Events per day, facility, source system and activity, per load: Data health's counts, the
-- period filter's bounds and the moment "now" means for states (open exceptions, blocks) read
-- these rows, not every event, and so do the facilities the filter offers. Kept by
-- models/dimensions.py `refresh`.
-- key: batch_id, day, facility, source_system, activity, outlier
CREATE TABLE IF NOT EXISTS event_daily (
    batch_id       VARCHAR NOT NULL,
    day            DATE NOT NULL,
    facility       VARCHAR,
    source_system  VARCHAR NOT NULL,
    activity       VARCHAR NOT NULL,
    outlier        BOOLEAN NOT NULL,    -- ts flagged as a timestamp outlier
    events         BIGINT NOT NULL,
    first_ts       TIMESTAMP NOT NULL,
    last_ts        TIMESTAMP NOT NULL
);

-- Each event by its id, for point lookups (a case's trail, who onboarded a supplier): what a trail
-- shows of the event and every object it names. Keyed by hash(event_id), read with constant key
-- lists (models/queries.py keyed_table): zone maps keep eight bytes of a string and event ids
-- share longer prefixes ("procurement:…"), so finding twenty events by id would otherwise read
-- every event; each load's rows are inserted sorted by key, so a key's row groups are few. Kept by models/audit.py `refresh` for the events
-- and relations the loads brought; a relation stored before its event waits here without the
-- event's details (NULL) until the event comes. key: event_id
CREATE TABLE IF NOT EXISTS event_lookup (
    event_key      UBIGINT NOT NULL,    -- hash(event_id)
    event_id       VARCHAR NOT NULL,
    activity       VARCHAR,
    ts             TIMESTAMP,
    source_system  VARCHAR,
    facility       VARCHAR,
    actor          VARCHAR,
    actor_kind     VARCHAR,
    source_order   BIGINT,
    objects        VARCHAR[] NOT NULL   -- every object it names (event_object), sorted
);

-- Each case by its id, for point lookups (the Case explorer's search for a whole id, a case's
-- trail): its type, events and span of time, and its events' keys (hash(event_id), in case
-- order). Keyed by hash(lower(case_id)), read with constant key lists as
-- event_lookup is: case_event and case_variant are found by case id only through zone maps,
-- which keep eight bytes of a string, so one case's rows meant reading a quarter of them. Kept by
-- models/cases.py `refresh` after case_event, for the cases the loads touched. key: case_id
CREATE TABLE IF NOT EXISTS case_lookup (
    case_key     UBIGINT NOT NULL,      -- hash(lower(case_id)): an id typed in any case finds it
    case_id      VARCHAR NOT NULL,
    object_type  VARCHAR NOT NULL,
    events       INTEGER NOT NULL,
    start_ts     TIMESTAMP NOT NULL,
    end_ts       TIMESTAMP NOT NULL,
    event_keys   UBIGINT[] NOT NULL     -- hash(event_id) of its events, in case order
);
