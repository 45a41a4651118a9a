"""The names the product speaks: P2P activities, object types, systems and span attributes.

Every activity, object type and `p2p.*` attribute name is written here once; everything else
refers to these constants.
"""

# -- Canonical activities (DESIGN.md, "P2P vocabulary") -------------------------------------
CREATE_REQUISITION = "Create Requisition"
APPROVE_REQUISITION = "Approve Requisition"
REJECT_REQUISITION = "Reject Requisition"
CREATE_PURCHASE_ORDER = "Create Purchase Order"
APPROVE_PURCHASE_ORDER = "Approve Purchase Order"
SEND_PURCHASE_ORDER = "Send Purchase Order"
CHANGE_PURCHASE_ORDER = "Change Purchase Order"
CANCEL_PURCHASE_ORDER = "Cancel Purchase Order"
RECORD_GOODS_RECEIPT = "Record Goods Receipt"
RETURN_GOODS = "Return Goods"
RECEIVE_INVOICE = "Receive Invoice"
MATCH_INVOICE = "Match Invoice"
FLAG_MATCH_EXCEPTION = "Flag Match Exception"
ROUTE_EXCEPTION = "Route Exception"
RESOLVE_EXCEPTION = "Resolve Exception"
BLOCK_INVOICE = "Block Invoice"
RELEASE_INVOICE_BLOCK = "Release Invoice Block"
APPROVE_INVOICE = "Approve Invoice"
POST_INVOICE = "Post Invoice"
REJECT_INVOICE = "Reject Invoice"
SCHEDULE_PAYMENT = "Schedule Payment"
RELEASE_PAYMENT = "Release Payment"
CLEAR_PAYMENT = "Clear Payment"
CREATE_SUPPLIER = "Create Supplier"
CHANGE_SUPPLIER_BANK_DETAILS = "Change Supplier Bank Details"
COMPLETE_SUPPLIER_ONBOARDING = "Complete Supplier Onboarding"

ACTIVITIES = (
    CREATE_REQUISITION, APPROVE_REQUISITION, REJECT_REQUISITION,
    CREATE_PURCHASE_ORDER, APPROVE_PURCHASE_ORDER, SEND_PURCHASE_ORDER,
    CHANGE_PURCHASE_ORDER, CANCEL_PURCHASE_ORDER,
    RECORD_GOODS_RECEIPT, RETURN_GOODS,
    RECEIVE_INVOICE, MATCH_INVOICE, FLAG_MATCH_EXCEPTION, ROUTE_EXCEPTION, RESOLVE_EXCEPTION,
    BLOCK_INVOICE, RELEASE_INVOICE_BLOCK, APPROVE_INVOICE, POST_INVOICE, REJECT_INVOICE,
    SCHEDULE_PAYMENT, RELEASE_PAYMENT, CLEAR_PAYMENT,
    CREATE_SUPPLIER, CHANGE_SUPPLIER_BANK_DETAILS, COMPLETE_SUPPLIER_ONBOARDING,
)

# -- Object types -----------------------------------------------------------------------------
REQUISITION = "requisition"
PURCHASE_ORDER = "purchase_order"
PO_LINE = "po_line"
GOODS_RECEIPT = "goods_receipt"
INVOICE = "invoice"
INVOICE_LINE = "invoice_line"
PAYMENT = "payment"
SUPPLIER = "supplier"
ITEM = "item"
CONTRACT = "contract"
EXCEPTION = "exception"
CASE = "case"  # the object a flat log's case becomes when its mapping names no type

OBJECT_TYPES = (
    REQUISITION, PURCHASE_ORDER, PO_LINE, GOODS_RECEIPT, INVOICE, INVOICE_LINE,
    PAYMENT, SUPPLIER, ITEM, CONTRACT, EXCEPTION,
)
# Master data: every order names them, so one supplier's "case" would be a million events of
# unrelated purchases. They are not case notions (no case_event rows) and a case's trail names
# them without following them.
MASTER_DATA = (SUPPLIER, ITEM, CONTRACT)

# -- Source systems of a hospital network -------------------------------------------------------
PROCUREMENT = "procurement"        # clinical procurement platform (requisitions, catalogue)
ERP = "erp"                        # orders, receipts, postings, payments
AP = "ap"                          # AP automation platform (invoice capture, match, approval)
SUPPLIER_PORTAL = "supplier_portal"
MIDDLEWARE = "middleware"          # the integration layer that moves documents between them

SYSTEMS = (PROCUREMENT, ERP, AP, SUPPLIER_PORTAL)

PERSON = "person"
SERVICE = "service"

# -- Span attributes: the p2p.* namespace of DESIGN.md's span conventions --------------------
EVENT_ID = "p2p.event.id"
EVENT_TYPE = "p2p.event.type"          # e.g. purchase_order.created
OBJECT_TYPE = "p2p.object.type"
OBJECT_ID = "p2p.object.id"
SOURCE_SYSTEM = "p2p.source.system"
TARGET_SYSTEM = "p2p.target.system"
FACILITY_ID = "p2p.facility.id"
SUPPLIER_ID = "p2p.supplier.id"

# OpenTelemetry semantic conventions we read
SERVICE_NAME = "service.name"
HTTP_STATUS_CODE = "http.response.status_code"

# Data-quality flags kept on events
TIMESTAMP_OUTLIER = "timestamp_outlier"

# UNSPSC segments (the first two digits of a code): the spend categories filters and KPIs
# group by. Titles as the UNSPSC code set writes them.
UNSPSC_SEGMENTS = {
    "14": "Paper Materials and Products",
    "41": "Laboratory and Measuring and Observing and Testing Equipment",
    "42": "Medical Equipment and Accessories and Supplies",
    "46": "Defense and Law Enforcement and Security and Safety Equipment and Supplies",
    "47": "Cleaning Equipment and Supplies",
    "51": "Drugs and Pharmaceutical Products",
    "53": "Apparel and Luggage and Personal Care Products",
    "72": "Building and Facility Construction and Maintenance Services",
    "80": "Management and Business Professionals and Administrative Services",
    "81": "Engineering and Research and Technology Based Services",
    "85": "Healthcare Services",
}
