"""The permission catalogue: every permission Tessera knows, declared in code (PLAT-4).

A permission is ``<context>.<object>.<action>``. *Scoped* permissions are subject to record rules:
a role grants them with a scope — ``own`` (records the user owns), ``team`` (records of the user's
teams) or ``all``. Unscoped permissions are simply granted or not.

Routes name the permission they need (``opt={"permission": ...}``); API client scopes are the same
strings, so one catalogue governs people and machines alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    OWN = "own"
    TEAM = "team"
    ALL = "all"

    @property
    def rank(self) -> int:
        return {"own": 1, "team": 2, "all": 3}[self.value]


# Route-level markers that are not catalogue permissions.
PUBLIC = "public"  # anyone, even without a tenant session (log-in page, health, web forms)
AUTHENTICATED = "authenticated"  # any signed-in user of the tenant (own profile, notifications)
OPERATOR = "operator"  # platform operators in the operator console
ROUTE_MARKERS = frozenset({PUBLIC, AUTHENTICATED, OPERATOR})


@dataclass(frozen=True, slots=True)
class Permission:
    key: str
    label: str  # English msgid, translated in the role editor
    scoped: bool = False

    @property
    def context(self) -> str:
        return self.key.split(".", 1)[0]


class Catalogue:
    def __init__(self) -> None:
        self._items: dict[str, Permission] = {}

    def define(self, key: str, label: str, *, scoped: bool = False) -> str:
        if key in self._items or key in ROUTE_MARKERS:
            raise ValueError(f"permission {key!r} declared twice")
        if key.count(".") != 2:
            raise ValueError(f"permission {key!r} must read <context>.<object>.<action>")
        self._items[key] = Permission(key, label, scoped)
        return key

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __getitem__(self, key: str) -> Permission:
        return self._items[key]

    def __iter__(self) -> Iterator[Permission]:
        return iter(self._items.values())

    def names(self) -> list[str]:
        return list(self._items)

    keys = names

    def by_context(self) -> dict[str, list[Permission]]:
        grouped: dict[str, list[Permission]] = {}
        for p in self._items.values():
            grouped.setdefault(p.context, []).append(p)
        return grouped


CATALOGUE = Catalogue()
P = CATALOGUE.define

# --- tenant administration (PLAT-3/4/5/8/9) -------------------------------------------------
ADMIN_USERS_READ = P("admin.users.read", "View users and invitations")
ADMIN_USERS_MANAGE = P("admin.users.manage", "Invite, edit and deactivate users")
ADMIN_ROLES_MANAGE = P("admin.roles.manage", "Define roles and their permissions")
ADMIN_TEAMS_MANAGE = P("admin.teams.manage", "Manage teams")
ADMIN_SSO_MANAGE = P("admin.sso.manage", "Configure single sign-on")
ADMIN_API_CLIENTS_MANAGE = P("admin.api_clients.manage", "Issue and revoke API clients")
ADMIN_AUDIT_READ = P("admin.audit.read", "Search the audit log")
ADMIN_SETTINGS_MANAGE = P("admin.settings.manage", "Change tenant settings")

# --- CRM (issue: CRM) -------------------------------------------------------------------------
CRM_ACCOUNT_READ = P("crm.account.read", "View accounts and contacts", scoped=True)
CRM_ACCOUNT_WRITE = P("crm.account.write", "Create and edit accounts and contacts", scoped=True)
CRM_ACCOUNT_MERGE = P("crm.account.merge", "Merge duplicate accounts")
CRM_LEAD_READ = P("crm.lead.read", "View leads", scoped=True)
CRM_LEAD_WRITE = P("crm.lead.write", "Create, qualify and convert leads", scoped=True)
CRM_LEAD_IMPORT = P("crm.lead.import", "Import leads and contacts from CSV")
CRM_LEAD_ASSIGN = P("crm.lead.assign", "Manage lead assignment rules")
CRM_OPPORTUNITY_READ = P("crm.opportunity.read", "View opportunities", scoped=True)
CRM_OPPORTUNITY_WRITE = P("crm.opportunity.write", "Edit opportunities", scoped=True)
CRM_PRODUCT_READ = P("crm.product.read", "View products and price lists")
CRM_PRODUCT_WRITE = P("crm.product.write", "Maintain products and price lists")
CRM_ORDER_READ = P("crm.order.read", "View quotes and sales orders", scoped=True)
CRM_ORDER_WRITE = P("crm.order.write", "Create quotes and sales orders", scoped=True)
CRM_ORDER_CONFIRM = P("crm.order.confirm", "Confirm and cancel sales orders", scoped=True)
CRM_CONTRACT_READ = P("crm.contract.read", "View contracts and collections", scoped=True)
CRM_CONTRACT_WRITE = P("crm.contract.write", "Edit contracts and collections", scoped=True)
CRM_REPORT_READ = P("crm.report.read", "View sales performance", scoped=True)
CRM_CAMPAIGN_READ = P("crm.campaign.read", "View campaigns and segments")
CRM_CAMPAIGN_WRITE = P("crm.campaign.write", "Plan campaigns and segments")
CRM_CAMPAIGN_SEND = P("crm.campaign.send", "Send campaigns")
CRM_TICKET_READ = P("crm.ticket.read", "View service tickets", scoped=True)
CRM_TICKET_WRITE = P("crm.ticket.write", "Work on service tickets", scoped=True)
CRM_SURVEY_READ = P("crm.survey.read", "View satisfaction results", scoped=True)

# --- customer self-service portal (CRM-12) ----------------------------------------------------
CUSTOMER_PORTAL_USE = P("customer.portal.use", "Use the customer self-service portal")

# --- finance (FIN) --------------------------------------------------------------------------
FIN_LEDGER_READ = P("fin.ledger.read", "View the ledger and statements")
FIN_JOURNAL_POST = P("fin.journal.post", "Post and reverse journal entries")
FIN_PERIOD_CLOSE = P("fin.period.close", "Open and close fiscal periods")
FIN_RECEIVABLE_READ = P("fin.receivable.read", "View customer invoices and payments")
FIN_RECEIVABLE_WRITE = P("fin.receivable.write", "Issue invoices, credit notes, record payments")
FIN_PAYABLE_READ = P("fin.payable.read", "View supplier bills and payments")
FIN_PAYABLE_WRITE = P("fin.payable.write", "Enter supplier bills and payments")
FIN_SETTINGS_MANAGE = P("fin.settings.manage", "Maintain chart of accounts, taxes, posting rules")

# --- supply chain (SCM) ---------------------------------------------------------------------
SCM_SUPPLIER_READ = P("scm.supplier.read", "View suppliers")
SCM_SUPPLIER_WRITE = P("scm.supplier.write", "Maintain suppliers")
SCM_PURCHASE_READ = P("scm.purchase.read", "View purchase orders")
SCM_PURCHASE_WRITE = P("scm.purchase.write", "Create purchase orders")
SCM_PURCHASE_APPROVE = P("scm.purchase.approve", "Approve purchase orders")
SCM_STOCK_READ = P("scm.stock.read", "View stock levels and moves")
SCM_STOCK_MOVE = P("scm.stock.move", "Receive, issue, transfer and adjust stock")
SCM_SHIPMENT_WRITE = P("scm.shipment.write", "Create and track shipments")

# --- production (MFG) -----------------------------------------------------------------------
MFG_BOM_READ = P("mfg.bom.read", "View bills of materials and routings")
MFG_BOM_WRITE = P("mfg.bom.write", "Maintain bills of materials and routings")
MFG_PLAN_RUN = P("mfg.plan.run", "Run production planning (MRP)")
MFG_ORDER_READ = P("mfg.order.read", "View production orders")
MFG_ORDER_WRITE = P("mfg.order.write", "Execute production orders")
MFG_QUALITY_WRITE = P("mfg.quality.write", "Record quality inspections")

# --- human resources (HRM) ------------------------------------------------------------------
HR_ORG_READ = P("hr.org.read", "View the organisation")
HR_ORG_MANAGE = P("hr.org.manage", "Maintain departments, positions and levels")
HR_EMPLOYEE_READ = P("hr.employee.read", "View employee records", scoped=True)
HR_EMPLOYEE_WRITE = P("hr.employee.write", "Edit employee records", scoped=True)
HR_PLAN_MANAGE = P("hr.plan.manage", "Workforce planning and headcount budgets")
HR_RECRUIT_READ = P("hr.recruit.read", "View requisitions and candidates", scoped=True)
HR_RECRUIT_WRITE = P("hr.recruit.write", "Run recruitment", scoped=True)
HR_TRAINING_MANAGE = P("hr.training.manage", "Plan training")
HR_PERFORMANCE_READ = P("hr.performance.read", "View performance reviews", scoped=True)
HR_PERFORMANCE_WRITE = P("hr.performance.write", "Run performance reviews", scoped=True)
HR_PAYROLL_READ = P("hr.payroll.read", "View payroll")
HR_PAYROLL_RUN = P("hr.payroll.run", "Run and approve payroll")
HR_SELF_SERVICE = P("hr.self.use", "Employee self-service (own leave, payslips, goals)")

# --- hospital (HOS) -------------------------------------------------------------------------
HOS_PATIENT_READ = P("hos.patient.read", "View patients", scoped=True)
HOS_PATIENT_WRITE = P("hos.patient.write", "Register patients")
HOS_EMR_READ = P("hos.emr.read", "Read medical records", scoped=True)
HOS_EMR_WRITE = P("hos.emr.write", "Write medical records and orders", scoped=True)
HOS_WORKLIST_USE = P("hos.worklist.use", "Work exam and lab worklists")
HOS_PHARMACY_DISPENSE = P("hos.pharmacy.dispense", "Dispense drugs")
HOS_BED_MANAGE = P("hos.bed.manage", "Admit, transfer and discharge; manage beds")
HOS_OR_BOOK = P("hos.or.book", "Book operating rooms")
HOS_BILLING_CHARGE = P("hos.billing.charge", "Review medical charges")
HOS_CASHIER_COLLECT = P("hos.cashier.collect", "Collect patient payments")
HOS_ROSTER_MANAGE = P("hos.roster.manage", "Maintain staff rosters")
HOS_REPORT_READ = P("hos.report.read", "View hospital decision-support reports")
