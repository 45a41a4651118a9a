"""How the integration middleware carries a business event from one system to another.

Every hop has the same shape: the source publishes (a message or an outbox row), the
integration service picks it up (queue consumers within seconds, pollers within minutes),
transforms it and writes it into the target. The write can fail: the ERP API answers HTTP 429
when it is busy (business hours), and during the planted ERP->AP outage every write fails
with 503 until the connector's backoff lands after the outage. The end of the successful
write is when the target committed the event: sync lag = commit - event time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models import vocabulary as v
from sample_logs import clock

# retry schedule of the connectors after a failed write: 1, 2, 4, 8, 16 minutes, then every 30
_BACKOFF_MIN = np.array([1, 2, 4, 8, 16] + [30] * 40)
BACKOFF_MS = np.concatenate([[0], np.cumsum(_BACKOFF_MIN) * clock.MINUTE])


@dataclass(frozen=True)
class HopSpec:
    """One kind of hop: who carries what from where to where, and how."""

    name: str               # e.g. "po_to_ap"
    service: str            # service.name of the integration service
    source: str             # system names from models.vocabulary
    target: str
    event_type: str         # p2p.event.type
    object_type: str        # p2p.object.type
    queue: str | None       # messaging.destination.name when a queue is used, else polling
    method: str             # HTTP method of the write into the target
    url: str                # url.full template of the write; {} is the target-side key
    rate_limited: bool      # the write goes to the ERP API, which answers 429 when busy
    outage: bool            # the planted ERP->AP outage stops this hop


HOPS = {
    "requisition_to_erp": HopSpec(
        "requisition_to_erp", "procurement-erp-bridge", v.PROCUREMENT, v.ERP,
        "requisition.approved", v.REQUISITION, "procurement.requisitions", "POST",
        "https://erp.mercy.example/api/v1/purchase-requisitions", True, False),
    "po_to_ap": HopSpec(
        "po_to_ap", "erp-ap-connector", v.ERP, v.AP, "purchase_order.approved",
        v.PURCHASE_ORDER, None, "PUT", "https://ap.mercy.example/api/v2/purchase-orders/{}",
        False, True),
    "po_to_portal": HopSpec(
        "po_to_portal", "supplier-portal-gateway", v.ERP, v.SUPPLIER_PORTAL, "purchase_order.sent",
        v.PURCHASE_ORDER, "erp.po-output", "POST", "https://portal.mercy.example/api/orders", False,
        False),
    "invoice_to_ap": HopSpec(
        "invoice_to_ap", "supplier-portal-gateway", v.SUPPLIER_PORTAL, v.AP, "invoice.submitted",
        v.INVOICE, "portal.invoices", "POST", "https://ap.mercy.example/api/v2/invoices", False,
        False),
    "receipt_to_ap": HopSpec(
        "receipt_to_ap", "erp-ap-connector", v.ERP, v.AP, "goods_receipt.posted",
        v.GOODS_RECEIPT, None, "PUT", "https://ap.mercy.example/api/v2/receipts/{}", False, True),
    "invoice_to_erp": HopSpec(
        "invoice_to_erp", "erp-ap-connector", v.AP, v.ERP, "invoice.approved", v.INVOICE, None,
        "POST", "https://erp.mercy.example/api/v1/supplier-invoices", True, False),
}


@dataclass
class Hop:
    """Timings of every event one hop carried (arrays per event, and per write attempt)."""

    spec: HopSpec
    event_time: np.ndarray
    publish_end: np.ndarray
    transform_start: np.ndarray
    transform_end: np.ndarray
    attempt_owner: np.ndarray    # event index of each write attempt, attempts in time order
    attempt_start: np.ndarray
    attempt_end: np.ndarray
    attempt_status: np.ndarray   # HTTP status code
    commit: np.ndarray           # end of the successful write, per event

    def __len__(self) -> int:
        return len(self.event_time)


@dataclass(frozen=True)
class Disturbances:
    """The planted trouble: the outage window and how hard the ERP API throttles."""

    outage_start: int
    outage_end: int
    busy_429_probability: float = 0.35
    quiet_429_probability: float = 0.01


def carry(rng: np.random.Generator, spec: HopSpec, event_time: np.ndarray,
          trouble: Disturbances, zones: clock.Zones, erp_zone: int) -> Hop:
    """Timings for carrying events that happened at `event_time` along `spec`."""
    n = len(event_time)
    publish_end = event_time + rng.integers(40, 1500, n)
    if spec.queue:   # a queue consumer picks messages up within seconds
        pickup = publish_end + rng.integers(150, 6000, n)
    else:            # a poller runs every two minutes
        pickup = publish_end + rng.integers(500, 120_000, n)
    transform_end = pickup + rng.integers(15, 400, n)
    first_try = transform_end + rng.integers(1, 30, n)
    write_ms = rng.integers(60, 900, n)

    # failed attempts before the one that succeeds
    fails = np.zeros(n, np.int64)
    if spec.outage:
        # a first try inside the window fails, and so does every retry until one lands after it
        inside = (first_try >= trouble.outage_start) & (first_try < trouble.outage_end)
        steps = np.searchsorted(BACKOFF_MS, trouble.outage_end - first_try, side="left")
        fails = np.where(inside, steps, 0)
    retry_after = np.zeros(n, np.int64)
    if spec.rate_limited:
        busy = clock.in_business_hours(zones, erp_zone, first_try)
        p = np.where(busy, trouble.busy_429_probability, trouble.quiet_429_probability)
        throttled = np.minimum(rng.geometric(1 - p) - 1, 6)
        retry_after = rng.integers(30_000, 150_000, n)   # Retry-After of this burst, ms
        fails = fails + throttled

    attempts = fails + 1
    owner = np.repeat(np.arange(n), attempts)
    k = np.arange(len(owner)) - np.repeat(np.cumsum(attempts) - attempts, attempts)  # attempt no.
    last = k == attempts[owner] - 1
    if spec.outage:
        offset = BACKOFF_MS[np.minimum(k, len(BACKOFF_MS) - 1)]
        status = np.where(last, 201 if spec.method == "POST" else 200, 503)
    else:
        offset = k * retry_after[owner]
        status = np.where(last, 201 if spec.method == "POST" else 200, 429)
    start = first_try[owner] + offset
    end = start + np.where(last, write_ms[owner], rng.integers(8, 60, len(owner)))
    commit = end[last]
    return Hop(spec, event_time, publish_end, pickup, transform_end, owner, start, end,
               status.astype(np.int64), commit)
