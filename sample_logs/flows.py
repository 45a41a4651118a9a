"""The timeline of every purchase order, drawn with numpy: one array per fact, no loop per order.

A case is a purchase order with its lines, receipts, returns, invoices and payments. Flows:
stock purchases (three-way match), services (two-way match, no receipt), bill-only implants
(used in surgery from consignment stock first, then requisition, PO and invoice) and STAT
orders (fast approvals). Planted truths (truths.py) decide some draws; the rest is noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sample_logs import clock, network as net, sync
from sample_logs.truths import Plan

STOCK, SERVICE, BILL_ONLY = 0, 1, 2
FLOW_NAMES = ("stock", "service", "bill_only")
H, D, M = clock.MS_HOUR, clock.MS_DAY, clock.MINUTE

# AP's match verdicts and exception reasons, in the order the AP platform checks them
MATCHED = "MATCHED"
REASONS = ("PO_NOT_FOUND", "RECEIPT_MISSING", "PRICE_VARIANCE", "QUANTITY_VARIANCE")


@dataclass
class Cases:
    """Everything that happened, as tables of numpy arrays (dicts of equal-length columns)."""

    po: dict = field(default_factory=dict)
    line: dict = field(default_factory=dict)
    receipt: dict = field(default_factory=dict)       # goods receipts, one row per receipt line
    invoice: dict = field(default_factory=dict)
    invoice_line: dict = field(default_factory=dict)
    supplier_event: dict = field(default_factory=dict)
    rejected_requisition: dict = field(default_factory=dict)
    hops: dict = field(default_factory=dict)          # hop name -> sync.Hop


def _lognormal_ms(rng, median_h: float, n: int, sigma: float = 0.9) -> np.ndarray:
    return (rng.lognormal(np.log(median_h), sigma, n) * H).astype(np.int64)


def _pick(rng, table: np.ndarray, *index) -> np.ndarray:
    """One person per row from a people table indexed by leading dims, last dim drawn."""
    sub = table[index]
    return sub[np.arange(len(sub)), rng.integers(0, sub.shape[1], len(sub))]


def build(rng: np.random.Generator, network: net.Network, zones: clock.Zones, n: int,
          plan: Plan) -> Cases:
    c = Cases()
    _orders(rng, network, n, plan, c)
    _lines(rng, network, c)
    _timeline(rng, network, zones, plan, c)
    _receipts(rng, network, zones, plan, c)
    _invoices(rng, network, zones, plan, c)
    _match(rng, network, zones, plan, c)
    _payments(rng, network, zones, c)
    _supplier_master(rng, network, zones, plan, c)
    _rejected_requisitions(rng, network, zones, n, c)
    return c


def _orders(rng, network, n, plan, c):
    n_fac, n_dep = len(net.FACILITIES), len(net.DEPARTMENTS)
    fac = rng.choice(n_fac, n, p=[0.3, 0.25, 0.15, 0.12, 0.18])
    dep = rng.choice(n_dep, n, p=net.DEPARTMENT_WEIGHTS)
    cum = np.cumsum(net.DEPARTMENT_CATEGORY_WEIGHTS, axis=1)[dep]
    cat = (rng.random(n)[:, None] > cum).sum(axis=1)
    sup = np.empty(n, np.int64)
    for k in range(len(net.CATEGORIES)):        # a loop per category: suppliers of that category
        rows = np.flatnonzero(cat == k)
        pool = np.flatnonzero(network.supplier_category == k)
        share = 1.0 / np.arange(1, len(pool) + 1)        # a few big suppliers, a long tail
        sup[rows] = rng.choice(pool, len(rows), p=share / share.sum())
    flow = np.full(n, STOCK)
    flow[cat == net.SERVICES] = SERVICE
    surgical = np.isin(dep, [0, 1])
    flow[(cat == net.IMPLANTS) & surgical & (rng.random(n) < 0.75)] = BILL_ONLY
    stat = (flow != SERVICE) & np.isin(dep, [0, 1, 2, 3, 4]) & (rng.random(n) < 0.06)
    buyer_slot = rng.integers(0, 3, n)
    c.po.update(
        number=4500000001 + np.arange(n), requisition=1000001 + np.arange(n), facility=fac,
        department=dep, category=cat, supplier=sup, flow=flow, stat=stat,
        requester=_pick(rng, network.people["requester"], fac, dep),
        buyer=network.people["buyer"][fac, buyer_slot],
    )
    plan.choose_order_truths(rng, network, c.po)


def _lines(rng, network, c):
    po = c.po
    n = len(po["number"])
    count = np.minimum(rng.geometric(0.45, n), 6)
    count[po["flow"] == SERVICE] = 1
    count[po["flow"] == BILL_ONLY] = np.minimum(count[po["flow"] == BILL_ONLY], 2)
    owner = np.repeat(np.arange(n), count)
    no = 10 * (np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count) + 1)
    sup = po["supplier"][owner]
    item = network.supplier_first_item[sup] + rng.integers(0, network.supplier_item_count[sup])
    cat = network.item_category[item]
    lo = np.array([q[3][0] for q in net.CATEGORIES])[cat]
    hi = np.array([q[3][1] for q in net.CATEGORIES])[cat]
    qty = rng.integers(lo, hi + 1)
    contract = network.item_contract_price[item]
    off_contract = rng.random(len(owner)) < 0.08           # bought outside the GPO price
    price = np.round(contract * np.where(off_contract, rng.uniform(1.03, 1.15, len(owner)), 1), 2)
    c.line.update(po=owner, line_no=no, item=item, quantity=qty, ordered_quantity=qty.copy(),
                  po_price=price, contract_price=contract)
    po["line_count"] = count
    po["first_line"] = np.cumsum(count) - count
    po["amount"] = np.round(np.bincount(owner, qty * price, n), 2)


def _timeline(rng, network, zones, plan, c):
    po, n = c.po, len(c.po["number"])
    fac, stat, flow = po["facility"], po["stat"], po["flow"]
    bill_only = flow == BILL_ONLY
    start = clock.business_time(rng, zones, fac)
    start = np.where(po["forced_outage"], plan.outage_start - rng.integers(20, 50, n) * M, start)
    # bill-only: the implant is used in surgery first; the requisition follows within hours
    usage = np.where(bill_only, start, -1)
    req_create = np.where(bill_only, start + rng.integers(1 * H, 30 * H, n), start)
    req_approve = np.where(stat, req_create + rng.integers(2, 20, n) * M,
                           clock.next_business_moment(zones, fac, req_create + _lognormal_ms(rng, 3, n)))
    hop = c.hops["requisition_to_erp"] = sync.carry(rng, sync.HOPS["requisition_to_erp"], req_approve,
                                                    plan.trouble, zones, plan.erp_zone)
    po_create = np.where(stat, hop.commit + rng.integers(5, 40, n) * M,
                         clock.next_business_moment(zones, fac, hop.commit + _lognormal_ms(rng, 5, n)))
    needs_approver = po["amount"] >= 5000
    po_approve = np.where(needs_approver,
                          np.where(stat, po_create + rng.integers(5, 30, n) * M,
                                   clock.next_business_moment(zones, fac, po_create + _lognormal_ms(rng, 2, n))),
                          po_create + rng.integers(2_000, 20_000, n))
    director = network.people["supply_chain_director"][fac]
    approver = np.where(po["amount"] >= 100_000, network.people["cfo_office"][0],
                        np.where(needs_approver, director, net.SERVICE_ACCOUNTS["erp_workflow"]))
    po_send = po_approve + rng.integers(1, 15, n) * M
    c.hops["po_to_ap"] = sync.carry(rng, sync.HOPS["po_to_ap"], po_approve, plan.trouble, zones,
                                    plan.erp_zone)
    portal = c.hops["po_to_portal"] = sync.carry(rng, sync.HOPS["po_to_portal"], po_send,
                                                 plan.trouble, zones, plan.erp_zone)
    acknowledged = network.supplier_on_portal[po["supplier"]]
    ack = np.where(acknowledged, portal.commit + rng.integers(20 * M, 20 * H, n), -1)

    cancel = (flow == STOCK) & ~stat & ~po["forced_outage"] & ~po["after_the_fact"] & (rng.random(n) < 0.015)
    change = ~cancel & (flow != BILL_ONLY) & (rng.random(n) < 0.07)
    change_at = np.where(change, po_send + rng.integers(2 * H, 3 * D, n), -1)
    first = po["first_line"]
    new_qty = np.maximum(1, c.line["quantity"][first] + rng.integers(-3, 6, n))
    c.line["quantity"][first[change]] = new_qty[change]
    po["amount"] = np.round(np.bincount(c.line["po"], c.line["quantity"] * c.line["po_price"], n), 2)
    po.update(usage=usage, req_create=req_create, req_approve=req_approve,
              req_approver=network.people["dept_approver"][fac, po["department"]],
              create=po_create, approve=po_approve, approver=approver, send=po_send, ack=ack,
              cancelled=cancel, cancel=np.where(cancel, po_send + rng.integers(1 * D, 5 * D, n), -1),
              changed=change, change=change_at, at_ap=c.hops["po_to_ap"].commit)


def _receipts(rng, network, zones, plan, c):
    """Goods receipts (stock purchases only), partial deliveries and returns."""
    po, line = c.po, c.line
    n = len(po["number"])
    fac = po["facility"]
    received = (po["flow"] == STOCK) & ~po["cancelled"]
    lead = np.where(po["stat"], rng.integers(4 * H, 26 * H, n), rng.integers(1 * D, 10 * D, n))
    first_gr = clock.next_business_moment(zones, fac, np.maximum(po["send"], po["change"] + 4 * H) + lead)
    min_qty = np.minimum.reduceat(line["quantity"], po["first_line"])
    partial = received & (min_qty >= 2) & (rng.random(n) < 0.10)
    second_gr = np.where(partial, clock.next_business_moment(zones, fac, first_gr + rng.integers(2 * D, 12 * D, n)), -1)
    share = rng.uniform(0.4, 0.8, n)

    # receipt lines: every line of a received PO in receipt 1, partial POs again in receipt 2
    rl = np.flatnonzero(received[line["po"]])
    rl2 = np.flatnonzero(partial[line["po"]])
    first_qty = np.where(partial[line["po"]], np.floor(line["quantity"] * share[line["po"]]), line["quantity"])
    receipt_po_order = np.concatenate([line["po"][rl], line["po"][rl2]])
    lines = np.concatenate([rl, rl2])
    part = np.concatenate([np.ones(len(rl), np.int64), np.full(len(rl2), 2)])
    qty = np.concatenate([first_qty[rl], line["quantity"][rl2] - first_qty[rl2]]).astype(np.int64)
    time = np.where(part == 1, first_gr[receipt_po_order], second_gr[receipt_po_order])
    # one document number per (PO, part); numbered in PO order
    doc_key = receipt_po_order * 2 + part - 1
    uniq, doc_index = np.unique(doc_key, return_inverse=True)
    document = 5000000001 + doc_index
    n_docs = len(uniq)
    doc_time = np.zeros(n_docs, np.int64)
    doc_time[doc_index] = time
    hop = c.hops["receipt_to_ap"] = sync.carry(rng, sync.HOPS["receipt_to_ap"], doc_time, plan.trouble,
                                               zones, plan.erp_zone)
    receiver = _pick(rng, network.people["receiver"], fac[uniq // 2])
    c.receipt.update(po=receipt_po_order, line=lines, part=part, quantity=qty, time=time,
                     document=document, doc_index=doc_index, at_ap=hop.commit[doc_index],
                     receiver=receiver[doc_index], movement=np.full(len(lines), 101))

    # returns: some units of the first line go back a few days after the last receipt
    ret = received & (rng.random(n) < 0.03)
    last_gr = np.where(partial, second_gr, first_gr)
    ret_po = np.flatnonzero(ret)
    ret_line = po["first_line"][ret_po]
    ret_qty = np.maximum(1, np.floor(line["quantity"][ret_line] * rng.uniform(0.1, 0.5, len(ret_po)))).astype(np.int64)
    ret_time = clock.next_business_moment(zones, fac[ret_po], last_gr[ret_po] + rng.integers(1 * D, 7 * D, len(ret_po)))
    c.returns = dict(po=ret_po, line=ret_line, quantity=ret_qty, time=ret_time,
                     document=5000000001 + n_docs + np.arange(len(ret_po)),
                     receiver=_pick(rng, network.people["receiver"], fac[ret_po]))
    po.update(first_gr=np.where(received, first_gr, -1), last_gr=np.where(received, last_gr, -1),
              partial=partial, returned=ret)
    # when AP learned of the receipts: first and (for partial deliveries) complete
    first_doc = np.full(n, -1, np.int64)
    first_doc[receipt_po_order[part == 1]] = c.receipt["at_ap"][part == 1]
    full_doc = first_doc.copy()
    full_doc[receipt_po_order[part == 2]] = c.receipt["at_ap"][part == 2]
    po["receipt_at_ap"], po["full_receipt_at_ap"] = first_doc, full_doc


def _month_end(day_ms: np.ndarray) -> np.ndarray:
    """Midnight (ms) of the last day of each instant's month."""
    month = (day_ms // D).astype("datetime64[D]").astype("datetime64[M]")
    return ((month + 1).astype("datetime64[D]").astype(np.int64) - 1) * D


def _invoices(rng, network, zones, plan, c):
    po, line = c.po, c.line
    n = len(po["number"])
    fac, flow, sup = po["facility"], po["flow"], po["supplier"]
    billed = np.flatnonzero(~po["cancelled"])
    base = np.select([flow == STOCK, flow == SERVICE],
                     [np.where(rng.random(n) < 0.25, po["first_gr"], po["last_gr"]),
                      po["send"] + rng.integers(5 * D, 40 * D, n)],
                     po["send"] + rng.integers(0, 5 * D, n))
    date = base + rng.integers(2 * H, 12 * D, n)
    # month-end surge: suppliers push invoices out in the last days of the month
    end = _month_end(date) - rng.integers(0, 3, n) * D + rng.integers(8 * H, 20 * H, n)
    surge = (rng.random(n) < plan.month_end_share) & (end > date)
    date = np.where(surge, end, date)
    # after-the-fact orders: the supplier invoiced before anyone raised the requisition
    atf = po["after_the_fact"]
    date = np.where(atf, po["req_create"] - rng.integers(3 * D, 25 * D, n), date)
    on_portal = network.supplier_on_portal[sup] & ~atf & ~po["forced_outage"]
    submit = np.where(on_portal, date + rng.integers(30 * M, 30 * H, n), -1)

    inv = billed
    m = len(inv)
    hop = sync.carry(rng, sync.HOPS["invoice_to_ap"], submit[inv][on_portal[inv]], plan.trouble,
                     zones, plan.erp_zone)
    ap_receive = clock.next_business_moment(zones, fac[inv], date[inv] + rng.integers(1 * D, 4 * D, m))
    ap_receive[on_portal[inv]] = hop.commit
    atf_rows = atf[inv]
    ap_receive[atf_rows] = np.minimum(ap_receive[atf_rows], po["create"][inv][atf_rows] - 2 * H)
    channel = np.where(on_portal[inv], "PORTAL", np.where(rng.random(m) < 0.8, "EMAIL", "PAPER"))
    # STAT orders that reached AP during the outage: invoices emailed the same afternoon
    forced = po["forced_outage"][inv]
    earliest = np.maximum(po["approve"][inv] + 20 * M, plan.outage_start + 30 * M)
    latest = plan.outage_end - 15 * M
    ok = forced & (earliest < latest)
    ap_receive[ok] = earliest[ok] + (rng.random(ok.sum()) * (latest - earliest[ok])).astype(np.int64)
    date[inv[ok]] = ap_receive[ok] - rng.integers(1 * H, 3 * H, ok.sum())
    channel[ok] = "EMAIL"

    # duplicates: the same invoice sent again by email a few days later, number reformatted
    dup_src = plan.choose_duplicates(rng, inv, po, m)
    seq = np.arange(m + len(dup_src))
    rows = np.concatenate([np.arange(m), dup_src])
    number = net.invoice_number(network.supplier_invoice_style[sup[inv[rows]]], 1200 + seq * 3 + po["supplier"][inv[rows]])
    number[:m] = number[:m]
    number[m:] = net.reformatted_invoice_number(number[dup_src])
    dup_receive = clock.next_business_moment(zones, fac[inv[dup_src]],
                                             ap_receive[dup_src] + rng.integers(1 * D, 6 * D, len(dup_src)))
    c.invoice.update(
        po=inv[rows], id=1000001 + seq, number=number, date=date[inv][rows],
        channel=np.concatenate([channel, np.full(len(dup_src), "EMAIL")]),
        submit=np.concatenate([submit[inv], np.full(len(dup_src), -1)]),
        ap_receive=np.concatenate([ap_receive, dup_receive]),
        duplicate_of=np.concatenate([np.full(m, -1), 1000001 + dup_src]),
        portal_hop_row=np.concatenate([np.where(on_portal[inv], np.cumsum(on_portal[inv]) - 1, -1),
                                       np.full(len(dup_src), -1)]),
    )
    c.hops["invoice_to_ap"] = hop

    # invoice lines: every PO line; prices as invoiced
    k = len(rows)
    counts = po["line_count"][c.invoice["po"]]
    owner = np.repeat(np.arange(k), counts)
    pl = po["first_line"][c.invoice["po"]][owner] + (np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts))
    price = line["po_price"][pl].copy()
    # originals draw the price noise; duplicates copy their original's lines
    noisy = rng.random(len(owner)) < 0.03
    price = np.where(noisy, np.round(price * rng.uniform(1.02, 1.08, len(owner)), 2), price)
    over = (po["supplier"][line["po"][pl]] == plan.over_contract_supplier) & (rng.random(len(owner)) < 0.85)
    price = np.where(over, np.round(line["contract_price"][pl] * (1 + plan.over_contract_pct / 100), 2), price)
    is_dup = owner >= m
    if is_dup.any():
        orig_line = np.repeat(np.cumsum(counts) - counts, counts)  # placeholder for shape
        src_start = (np.cumsum(counts) - counts)[dup_src]
        offset_in = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
        price[is_dup] = price[src_start[owner[is_dup] - m] + offset_in[is_dup]]
    qty = line["quantity"][pl]
    c.invoice_line.update(invoice=owner, po_line=pl, line_no=np.arange(len(owner)) -
                          np.repeat(np.cumsum(counts) - counts, counts) + 1, quantity=qty, price=price)
    c.invoice["amount"] = np.round(np.bincount(owner, qty * price, k), 2)


def _match(rng, network, zones, plan, c):
    """AP's verdict per invoice, its exceptions, routing, blocks and approvals."""
    po, inv, il = c.po, c.invoice, c.invoice_line
    k = len(inv["id"])
    p = inv["po"]
    fac, dep, cat = po["facility"][p], po["department"][p], po["category"][p]
    receive = inv["ap_receive"]
    match = receive + rng.integers(1, 20, k) * M
    three_way = po["flow"][p] == STOCK
    po_missing = po["at_ap"][p] > match
    receipt_missing = three_way & ((po["receipt_at_ap"][p] < 0) | (po["receipt_at_ap"][p] > match))
    line_over = il["price"] > c.line["po_price"][il["po_line"]] * 1.01
    price_var = np.bincount(il["invoice"], line_over, k) > 0
    # received so far (as AP knows it at match time) against invoiced quantity
    partial_open = po["partial"][p] & (po["full_receipt_at_ap"][p] > match)
    returned_before = np.zeros(len(po["number"]), bool)
    returned_before[c.returns["po"]] = True
    qty_var = three_way & (partial_open | (returned_before[p] & (po["last_gr"][p] < match)))
    reason_idx = np.select([po_missing, receipt_missing, price_var, qty_var], [0, 1, 2, 3], -1)
    exception = reason_idx >= 0
    reason = np.where(exception, np.array(REASONS + ("",))[reason_idx], "")

    flag = np.where(exception, match + rng.integers(1_000, 30_000, k), -1)
    route = np.where(exception, flag + rng.integers(1, 10, k) * M, -1)
    amount = inv["amount"]
    watch = np.isin(po["supplier"][p], plan.watchlist_suppliers)
    rules = np.select(
        [po["stat"][p], reason_idx == 2, watch, amount >= 25_000, reason_idx <= 1],
        ["STAT_TO_SUPPLY_CHAIN", "PRICE_VARIANCE_TO_CATEGORY", "SUPPLIER_WATCHLIST_TO_CATEGORY",
         "HIGH_VALUE_TO_DEPARTMENT", "MISSING_DOCUMENT_TO_BUYER"], "QUANTITY_TO_RECEIVING")
    people = network.people
    routed_to = np.select(
        [rules == "STAT_TO_SUPPLY_CHAIN", np.char.endswith(rules.astype(str), "CATEGORY"),
         rules == "HIGH_VALUE_TO_DEPARTMENT", rules == "MISSING_DOCUMENT_TO_BUYER"],
        [people["supply_chain_director"][fac], people["category_manager"][cat],
         people["dept_approver"][fac, dep], po["buyer"][p]], people["receiver"][fac, 0])
    routed_to = np.where(exception, routed_to, "")
    rules = np.where(exception, rules, "")
    # a missing document is resolved once it has arrived; others after a review that waits in
    # the approver's queue for days, a few for weeks (what exception aging is there to show)
    ready = np.select([reason_idx == 0, reason_idx == 1], [po["at_ap"][p], po["receipt_at_ap"][p]], 0)
    resolve = np.where(exception, np.maximum(route + _lognormal_ms(rng, 60, k, sigma=1.3),
                                             ready + rng.integers(10, 90, k) * M), -1)
    resolve = np.where(exception, clock.next_business_moment(zones, fac, resolve), -1)
    blocked = reason_idx == 2
    block = np.where(blocked, flag + rng.integers(1_000, 5_000, k), -1)
    release = np.where(blocked, resolve + rng.integers(1, 60, k) * M, -1)

    cleared = np.maximum.reduce([match, resolve, release])
    approve = clock.next_business_moment(
        zones, fac, cleared + np.where(po["stat"][p], _lognormal_ms(rng, 1, k), _lognormal_ms(rng, 8, k)))
    approver = people["dept_approver"][fac, dep].astype(object)
    four_eyes = (po["buyer"][p] == plan.four_eyes_person) & (rng.random(k) < 0.15)
    approver[four_eyes] = plan.four_eyes_person
    # AP catches some duplicates at approval and rejects them; the rest are paid twice
    rejected = (inv["duplicate_of"] > 0) & (rng.random(k) < 0.3)
    hop = c.hops["invoice_to_erp"] = sync.carry(rng, sync.HOPS["invoice_to_erp"], approve[~rejected],
                                                plan.trouble, zones, plan.erp_zone)
    post = np.full(k, -1, np.int64)
    post[~rejected] = hop.commit
    inv.update(match=match, three_way=three_way, verdict=np.where(exception, "EXCEPTION", MATCHED),
               reason=reason, exception_id=np.where(exception, np.cumsum(exception), 0),
               flag=flag, route=route, routing_rule=rules, routed_to=routed_to, resolve=resolve,
               blocked=blocked, block=block, release=release, approve=approve,
               approver=approver.astype(str), rejected=rejected, post=post,
               erp_document=np.where(rejected, 0, 5105600001 + np.cumsum(~rejected) - 1))


def _payments(rng, network, zones, c):
    """Terms, payment runs (Tue/Thu 06:00 in the ERP's zone), discounts, clearing."""
    inv, po = c.invoice, c.po
    k = len(inv["id"])
    terms = network.supplier_terms[po["supplier"][inv["po"]]]
    paid = ~inv["rejected"]
    net_days = np.where(terms == 1, 45, 30)
    due = inv["date"] + net_days * D
    discount_possible = (terms == 2) & (inv["post"] <= inv["date"] + 8 * D)
    target = np.where(discount_possible, inv["date"] + 10 * D, due)
    target = np.maximum(target - 2 * D, inv["post"] + H)
    day = (target - clock.START_MS) // D
    weekday = (day + clock.YEAR_START.weekday()) % 7
    to_run = np.select([weekday <= 1, weekday <= 3], [1 - weekday, 3 - weekday], 8 - weekday)
    run_local = clock.START_MS + (day + to_run) * D + 6 * H
    erp = 0  # payment runs use the ERP's zone, which is FACILITIES[0]'s zone
    schedule = zones.from_local(erp, run_local)
    release = schedule + rng.integers(1 * H, 5 * H, k)
    clear = release + rng.integers(1, 3, k) * D
    discount = np.where(discount_possible, np.round(inv["amount"] * 0.02, 2), 0.0)
    inv.update(terms=terms, due=due, discount=discount, pay_amount=np.round(inv["amount"] - discount, 2),
               schedule=np.where(paid, schedule, -1), pay_release=np.where(paid, release, -1),
               clear=np.where(paid, clear, -1),
               payment=np.where(paid, 1500000001 + np.cumsum(paid) - 1, 0),
               treasurer=network.people["treasury"][rng.integers(0, 2, k)])


def _supplier_master(rng, network, zones, plan, c):
    """Create Supplier (ERP), Complete Supplier Onboarding (portal), bank detail changes (ERP)."""
    s = len(network.supplier_number)
    created = clock.START_MS - rng.integers(30, 700, s) * D + rng.integers(9 * H, 17 * H, s)
    onboarded = np.where(network.supplier_on_portal, created + rng.integers(2, 20, s) * D, -1)
    changes = plan.bank_changes(rng, network, c)
    c.supplier_event.update(created=created, onboarded=onboarded,
                            clerk=network.people["vendor_master"][rng.integers(0, 2, s)],
                            bank_change=changes)


def _rejected_requisitions(rng, network, zones, n, c):
    """Requisitions that never became orders (about 2%)."""
    r = max(2, n // 50)
    fac = rng.integers(0, len(net.FACILITIES), r)
    dep = rng.choice(len(net.DEPARTMENTS), r, p=net.DEPARTMENT_WEIGHTS)
    create = clock.business_time(rng, zones, fac)
    c.rejected_requisition.update(
        number=1000001 + n + np.arange(r), facility=fac, department=dep, create=create,
        reject=clock.next_business_moment(zones, fac, create + _lognormal_ms(rng, 4, r)),
        requester=_pick(rng, network.people["requester"], fac, dep),
        approver=network.people["dept_approver"][fac, dep],
        amount=np.round(rng.lognormal(7, 1.2, r), 2))
