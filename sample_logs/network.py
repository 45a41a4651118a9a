"""The hospital network the simulator runs: facilities, departments, suppliers, items, people.

Everything here is small (tens to hundreds of rows) and built once per seed; the flows module
draws millions of orders from it with numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# canonical id, name, IANA zone, ERP plant, procurement site code, AP platform facility name
FACILITIES = (
    ("MHS-CHI", "Mercy Lakeshore Medical Center", "America/Chicago", "1010", "CHI01", "Chicago Campus"),
    ("MHS-NYC", "Mercy Hudson Hospital", "America/New_York", "1020", "NYC01", "New York Campus"),
    ("MHS-DEN", "Mercy Front Range Hospital", "America/Denver", "1030", "DEN01", "Denver Campus"),
    ("MHS-PHX", "Mercy Desert Valley Hospital", "America/Phoenix", "1040", "PHX01", "Phoenix Campus"),
    ("MHS-LAX", "Mercy Pacific Medical Center", "America/Los_Angeles", "1050", "LAX01", "Los Angeles Campus"),
)
ERP_ZONE = "America/Chicago"       # the ERP's data centre and its business hours (rate limits)
AP_ZONE = "America/New_York"       # the AP platform writes every time in its tenant's zone

# code, name, ERP cost centre
DEPARTMENTS = (
    ("OR", "Operating Room", "CC4100"),
    ("CATH", "Cath Lab", "CC4200"),
    ("ICU", "Intensive Care Unit", "CC4300"),
    ("PHARM", "Pharmacy", "CC5100"),
    ("LAB", "Laboratory", "CC5200"),
    ("CSUP", "Central Supply", "CC6100"),
    ("FAC", "Facilities & Biomed", "CC7100"),
)

# spend category, UNSPSC segment codes items are drawn from, price range (USD), quantity range
CATEGORIES = (
    ("medical_equipment", (42181500, 42191800, 42221500, 42295100), (800, 45000), (1, 3)),
    ("pharmaceuticals", (51101500, 51142100, 51161700, 51191900), (4, 900), (10, 400)),
    ("lab_supplies", (41104100, 41115800, 41116100, 41121800), (15, 1200), (2, 60)),
    ("medical_supplies", (42132200, 42141500, 42311500, 14111500, 53102700), (2, 250), (10, 600)),
    ("implants", (42295500, 42203400, 42321500, 42321900), (1200, 28000), (1, 2)),
    ("services", (85101600, 80111600, 72101500, 81141500), (1500, 60000), (1, 1)),
)
CATEGORY_NAMES = tuple(c[0] for c in CATEGORIES)
SERVICES = CATEGORY_NAMES.index("services")
IMPLANTS = CATEGORY_NAMES.index("implants")

# which categories each department buys, with weights (rows: DEPARTMENTS, cols: CATEGORIES)
DEPARTMENT_CATEGORY_WEIGHTS = np.array([
    [0.20, 0.05, 0.00, 0.30, 0.45, 0.00],   # OR
    [0.15, 0.05, 0.00, 0.25, 0.55, 0.00],   # CATH
    [0.20, 0.30, 0.05, 0.45, 0.00, 0.00],   # ICU
    [0.00, 0.95, 0.00, 0.05, 0.00, 0.00],   # PHARM
    [0.10, 0.00, 0.85, 0.05, 0.00, 0.00],   # LAB
    [0.05, 0.00, 0.00, 0.95, 0.00, 0.00],   # CSUP
    [0.35, 0.00, 0.00, 0.00, 0.00, 0.65],   # FAC
])
DEPARTMENT_WEIGHTS = np.array([0.18, 0.10, 0.14, 0.16, 0.14, 0.18, 0.10])

PAYMENT_TERMS = ("NT30", "NT45", "2/10NT30")   # ERP terms keys
TERMS_TEXT = ("Net 30", "Net 45", "2% 10 Net 30")  # how the AP platform shows them

_SUPPLIER_STEMS = (
    "Medline", "Cardinal", "Owens", "Stryker", "Zimmer", "Baxter", "Becton", "Hologic", "Abbott",
    "Steris", "Smith", "Conmed", "Teleflex", "Halyard", "Olympus", "Arthrex", "Terumo", "Boston",
    "Edwards", "Integra", "Hill", "Fisher", "Sysmex", "Bio", "Grifols", "Fresenius", "Hikma",
    "Pfizer", "Sandoz", "Amneal", "Mylan", "Apotex", "Aramark", "Sodexo", "Crothall", "Vizient",
    "Premier", "Henry", "Patterson", "McKesson", "Cook", "Getinge", "Masimo", "Natus", "Drager",
    "Mindray", "Siemens", "Philips",
)
_SUPPLIER_SUFFIX = ("Medical", "Health", "Surgical", "Scientific", "Pharma", "Services", "Labs")
# (prefix, zero-padded width) of each supplier's invoice numbering: "INV-00123", "00000123", ...
_INVOICE_STYLES = (("INV-", 5), ("", 8), ("IN", 6), ("", 0), ("BL-", 6))

_FIRST = ("James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
          "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
          "Sarah", "Carlos", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty",
          "Mark", "Sandra", "Priya", "Ashley", "Kevin", "Aisha", "Brian", "Emily", "Wei", "Maria")
_LAST = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Lopez",
         "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez",
         "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen",
         "King", "Wright", "Scott", "Nguyen", "Hill", "Patel", "Kim", "Chen", "Rivera")

# integration users: the login each system shows for work done by a machine
SERVICE_ACCOUNTS = {
    "procurement_bridge": "svc_proc_bridge",
    "erp_ap_connector": "svc_erp_ap",
    "erp_output": "svc_erp_output",
    "erp_workflow": "svc_erp_wf",
    "payment_run": "svc_payrun",
    "bank_statement": "svc_bankstmt",
    "ap_capture": "svc_ap_capture",
    "ap_match": "svc_ap_match",
    "portal_gateway": "svc_portal_gw",
}


@dataclass(frozen=True)
class Network:
    """Arrays describing the network; index positions are the ids the flows use."""

    supplier_number: np.ndarray      # ERP vendor number, e.g. 100123
    supplier_name: np.ndarray
    supplier_category: np.ndarray    # index into CATEGORIES
    supplier_terms: np.ndarray       # index into PAYMENT_TERMS
    supplier_on_portal: np.ndarray   # bool: invoices through the supplier portal
    supplier_invoice_style: np.ndarray
    supplier_contract: np.ndarray    # GPO contract id
    item_number: np.ndarray          # e.g. 300123
    item_supplier: np.ndarray        # supplier index; items are sorted by supplier
    item_category: np.ndarray
    item_unspsc: np.ndarray
    item_contract_price: np.ndarray  # GPO contract unit price, USD
    item_description: np.ndarray
    supplier_first_item: np.ndarray  # item index range per supplier
    supplier_item_count: np.ndarray
    people: dict                     # role -> array of logins, shaped by facility/department


def build(rng: np.random.Generator, n_suppliers: int = 48) -> Network:
    """A network drawn from `rng`: the same seed gives the same network."""
    n_cat = len(CATEGORIES)
    # every category gets at least four suppliers; the rest is spread by a category's spend share
    category = np.concatenate([np.repeat(np.arange(n_cat), 4),
                               rng.choice(n_cat, n_suppliers - 4 * n_cat, p=[.15, .2, .15, .3, .1, .1])])
    stems = rng.permutation(len(_SUPPLIER_STEMS))[:n_suppliers]
    names = np.array([f"{_SUPPLIER_STEMS[s]} {_SUPPLIER_SUFFIX[(s + c) % len(_SUPPLIER_SUFFIX)]}"
                      for s, c in zip(stems, category)])
    terms = rng.choice(len(PAYMENT_TERMS), n_suppliers, p=[0.55, 0.2, 0.25])
    on_portal = rng.random(n_suppliers) < 0.7
    style = rng.integers(0, len(_INVOICE_STYLES), n_suppliers)
    numbers = 100100 + np.arange(n_suppliers) * 7
    contracts = np.array([f"VZ-{2024 + (i % 2)}-{5000 + i * 13}" for i in range(n_suppliers)])

    # 6-14 catalogue items per supplier, in the supplier's category
    counts = rng.integers(6, 15, n_suppliers)
    item_supplier = np.repeat(np.arange(n_suppliers), counts)
    item_category = category[item_supplier]
    lo = np.array([CATEGORIES[c][2][0] for c in range(n_cat)], float)[item_category]
    hi = np.array([CATEGORIES[c][2][1] for c in range(n_cat)], float)[item_category]
    price = np.round(np.exp(rng.uniform(np.log(lo), np.log(hi))), 2)
    segment = np.array([rng.choice(CATEGORIES[c][1]) for c in item_category])
    unspsc = segment + rng.integers(1, 99, len(segment))  # commodity level below the class
    item_number = 300000 + np.arange(len(item_supplier)) * 3
    description = np.array([f"{CATEGORY_NAMES[c].replace('_', ' ')} item {n}"
                            for c, n in zip(item_category, item_number)])
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return Network(numbers, names, category, terms, on_portal, style, contracts, item_number,
                   item_supplier, item_category, unspsc, price, description, first, counts,
                   _people(rng))


def _people(rng: np.random.Generator) -> dict:
    """Logins by role. Requesters, receivers and approvers are per facility x department."""
    n_fac, n_dep = len(FACILITIES), len(DEPARTMENTS)
    used: set[str] = set()

    def login() -> str:
        while True:
            name = f"{rng.choice(_FIRST)[0].lower()}{rng.choice(_LAST).lower()}"
            if name not in used:
                used.add(name)
                return name
            name += str(rng.integers(2, 99))
            if name not in used:
                used.add(name)
                return name

    grid = lambda k: np.array([[[login() for _ in range(k)] for _ in range(n_dep)]
                               for _ in range(n_fac)])
    per_fac = lambda k: np.array([[login() for _ in range(k)] for _ in range(n_fac)])
    return {
        "requester": grid(3),           # [facility, department, k]
        "dept_approver": grid(1)[:, :, 0],
        "receiver": per_fac(3),         # loading dock
        "buyer": per_fac(3),
        "ap_clerk": per_fac(2),
        "supply_chain_director": per_fac(1)[:, 0],
        "category_manager": np.array([login() for _ in CATEGORIES]),
        "treasury": np.array([login() for _ in range(2)]),
        "vendor_master": np.array([login() for _ in range(2)]),
        "cfo_office": np.array([login()]),
    }


def invoice_number(style: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """The invoice number as each supplier writes it on its invoices."""
    digits = pc.cast(pa.array(seq), pa.string())
    out = pa.nulls(len(seq), pa.string())
    for s, (prefix, width) in enumerate(_INVOICE_STYLES):
        text = pc.binary_join_element_wise(prefix, pc.utf8_lpad(digits, width, "0"), "")
        out = pc.if_else(pa.array(style == s), text, out)
    return out.to_numpy(zero_copy_only=False)


def reformatted_invoice_number(numbers: np.ndarray) -> np.ndarray:
    """How a resubmitted duplicate looks: lower case, no separators, no leading zeros
    ("INV-00123" -> "inv123"); a plain number gains an "inv" prefix so it still differs."""
    out = []
    for text in numbers:
        letters = "".join(ch for ch in text if ch.isalpha()).lower()
        digits = "".join(ch for ch in text if ch.isdigit()).lstrip("0") or "0"
        new = letters + digits
        out.append(new if new != text else "inv" + digits)   # "5836" -> "inv5836"
    return np.array(out, dtype=object)
