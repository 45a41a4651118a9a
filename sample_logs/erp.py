"""ERP: purchase orders, changes, goods movements, invoice postings, payments, supplier master.

Writes erp/changes_YYYY-MM.csv: semicolon-delimited, UTF-8 with BOM, one row per document event
and, for documents with items, one row per item sharing the event's CHANGE_NO (the ingest keeps
one event and relates it to every item). MENGE is the ordered quantity (order and change
rows only), ERFMG the quantity moved by a goods movement (negative for returns). CHANGED_ON is plant-local wall-clock time
"%d.%m.%Y %H:%M:%S"; TZONE names the plant's IANA zone. Activity is the transaction code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sample_logs import clock, logfiles, network as net

COLUMNS = ["CHANGE_NO", "TCODE", "CHANGED_ON", "TZONE", "PLANT", "USER_NAME", "USER_TYPE", "EBELN",
           "PO_ITEM", "REQ_REF", "LIFNR", "MATNR", "MATKL", "KOSTL", "MENGE", "ERFMG", "NETPR",
           "CONTRACT_PRICE", "KONNR", "NETWR", "WAERS", "MBLNR", "BWART", "BELNR", "AP_DOC_REF",
           "XBLNR", "PAYMENT_DOC", "ZTERM", "DUE_DATE", "DISCOUNT", "BANK_OLD", "BANK_NEW",
           "PRIORITY", "OLD_VALUE", "NEW_VALUE"]
ERP_ZONE_FACILITY = 0   # company-level events (payments, supplier master) use the ERP's zone


def _s(x) -> pa.Array:
    return pc.cast(pa.array(x), pa.string())


def _cat(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*[p if isinstance(p, str) else _s(p) for p in parts], "")


def _user_type(login: np.ndarray) -> np.ndarray:
    return np.where(np.char.startswith(login.astype(str), "svc_"), "BATCH", "DIALOG")


def write(out: Path, c, network: net.Network, zones: clock.Zones) -> tuple[dict, dict]:
    po, line, inv = c.po, c.line, c.invoice
    plant = np.array([f[3] for f in net.FACILITIES])
    cost_centre = np.array([d[2] for d in net.DEPARTMENTS])
    n = len(po["number"])

    def header(idx, time, code, tcode, user, **extra):
        p = idx
        return dict(_time=time, _fac=po["facility"][p], CHANGE_NO=_cat(code, po["number"][p]),
                    TCODE=tcode, PLANT=plant[po["facility"][p]], USER_NAME=user,
                    USER_TYPE=_user_type(np.asarray(user)) if not isinstance(user, str) else
                    ("BATCH" if user.startswith("svc_") else "DIALOG"),
                    EBELN=po["number"][p], REQ_REF=_cat("RQ", po["requisition"][p]),
                    LIFNR=network.supplier_number[po["supplier"][p]], KOSTL=cost_centre[po["department"][p]],
                    NETWR=logfiles.money(po["amount"][p]), WAERS="USD",
                    KONNR=network.supplier_contract[po["supplier"][p]],
                    PRIORITY=np.where(po["stat"][p], "STAT", ""), **extra)

    def line_cols(lines):
        item = line["item"][lines]
        return dict(PO_ITEM=_cat(po["number"][line["po"][lines]], "-", line["line_no"][lines]),
                    MATNR=network.item_number[item], MATKL=network.item_unspsc[item])

    blocks = []
    everyone = np.arange(n)
    # purchase order created: one row per item
    lp = line["po"]
    blocks.append(dict(header(lp, po["create"][lp], "1", "ME21N", po["buyer"][lp]), **line_cols(np.arange(len(lp))),
                       MENGE=line["ordered_quantity"], NETPR=logfiles.money(line["po_price"]),
                       CONTRACT_PRICE=logfiles.money(line["contract_price"])))
    blocks.append(header(everyone, po["approve"], "2", "ME29N", po["approver"]))
    blocks.append(header(everyone, po["send"], "3", "ME9F", net.SERVICE_ACCOUNTS["erp_output"]))
    ch = np.flatnonzero(po["changed"])
    first = po["first_line"][ch]
    blocks.append(dict(header(ch, po["change"][ch], "4", "ME22N", po["buyer"][ch]), **line_cols(first),
                       MENGE=line["quantity"][first], NETPR=logfiles.money(line["po_price"][first]),
                       OLD_VALUE=line["ordered_quantity"][first], NEW_VALUE=line["quantity"][first]))
    cn = np.flatnonzero(po["cancelled"])
    blocks.append(header(cn, po["cancel"][cn], "5", "ME22N_DEL", po["buyer"][cn]))

    # goods receipts (movement 101) per item, returns (122)
    r = c.receipt
    rp = r["po"]
    blocks.append(dict(header(rp, r["time"], "6", "MIGO_GR", r["receiver"]), **line_cols(r["line"]),
                       CHANGE_NO=_cat("6", r["document"]), ERFMG=r["quantity"], MBLNR=r["document"], BWART="101"))
    rt = c.returns
    blocks.append(dict(header(rt["po"], rt["time"], "6", "MIGO_RET", rt["receiver"]), **line_cols(rt["line"]),
                       CHANGE_NO=_cat("6", rt["document"]), ERFMG=-rt["quantity"], MBLNR=rt["document"], BWART="122"))

    # invoice posted after AP approval (the connector's integration user)
    posted = np.flatnonzero(inv["post"] >= 0)
    ip = inv["po"][posted]
    terms = np.array(net.PAYMENT_TERMS)
    inv_cols = lambda rows: dict(BELNR=inv["erp_document"][rows], AP_DOC_REF=_cat("AP", inv["id"][rows]),
                                 XBLNR=inv["number"][rows], ZTERM=terms[inv["terms"][rows]],
                                 DUE_DATE=clock.day_string(inv["due"][rows], "%d.%m.%Y"))
    blocks.append(dict(header(ip, inv["post"][posted], "7", "MIRO", net.SERVICE_ACCOUNTS["erp_ap_connector"]),
                       **inv_cols(posted), CHANGE_NO=_cat("7", inv["erp_document"][posted]),
                       NETWR=logfiles.money(inv["amount"][posted])))
    # payments: proposal in the payment run, release by treasury, clearing from the bank statement
    pay_cols = lambda: dict(inv_cols(posted), PAYMENT_DOC=inv["payment"][posted],
                            NETWR=logfiles.money(inv["pay_amount"][posted]),
                            DISCOUNT=logfiles.money(inv["discount"][posted]))
    company = lambda b: dict(b, _fac=np.full(len(posted), ERP_ZONE_FACILITY))
    for code, tcode, times, user in (("81", "F110_PROP", inv["schedule"], net.SERVICE_ACCOUNTS["payment_run"]),
                                     ("82", "BNK_APP", inv["pay_release"], inv["treasurer"][posted]),
                                     ("83", "FEBAN_CLR", inv["clear"], net.SERVICE_ACCOUNTS["bank_statement"])):
        blocks.append(company(dict(header(ip, times[posted], "", tcode, user), **pay_cols(),
                                   CHANGE_NO=_cat(code, inv["payment"][posted]))))

    # supplier master
    se = c.supplier_event
    s = np.arange(len(network.supplier_number))
    master = lambda idx, time, code, tcode, user, **extra: dict(
        _time=time, _fac=np.full(len(idx), ERP_ZONE_FACILITY), CHANGE_NO=_cat(code, network.supplier_number[idx]),
        TCODE=tcode, USER_NAME=user, USER_TYPE="DIALOG", LIFNR=network.supplier_number[idx],
        KONNR=network.supplier_contract[idx], ZTERM=terms[network.supplier_terms[idx]], **extra)
    blocks.append(master(s, se["created"], "91", "XK01", se["clerk"]))
    bc = se["bank_change"]
    mask = lambda acct: _cat("ACCT-****", pc.utf8_lpad(_s(np.asarray(acct) % 10000), 4, "0"))
    blocks.append(master(bc["supplier"], bc["time"], "92", "XK02_BANK",
                         network.people["vendor_master"][np.arange(len(bc["supplier"])) % 2],
                         BANK_OLD=mask(bc["old_account"]), BANK_NEW=mask(bc["new_account"])))

    zone_names = np.array([f[2] for f in net.FACILITIES])
    for b in blocks:
        b["CHANGED_ON"] = clock.strftime(zones.local(b["_fac"], b["_time"]), "%d.%m.%Y %H:%M:%S")
        b["TZONE"] = zone_names[b["_fac"]]
    table, time = logfiles.stack(blocks, COLUMNS)
    counts = {}
    for month, part in logfiles.by_month(table, time):
        name = f"erp/changes_{month}.csv"
        counts[name] = logfiles.write_csv(out / name, part, delimiter=";", bom=True)
    docs = np.unique(r["document"])
    keys = {"po_to_ap": _cat("2", po["number"]), "po_to_portal": _cat("3", po["number"]),
            "receipt_to_ap": _cat("6", docs)}
    return counts, {k: np.asarray(v.to_numpy(zero_copy_only=False)) for k, v in keys.items()}
