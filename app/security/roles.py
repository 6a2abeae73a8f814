"""Built-in roles (PLAT-4). Their grants live in code so a release can extend them; tenants add
their own roles on top (stored in the tenant's ``roles`` table with explicit grants).

A grant is ``{permission: scope}``; for unscoped permissions the scope is always ``all``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.security import permissions as p
from app.security.permissions import CATALOGUE, Scope

Grants = dict[str, Scope]


@dataclass(frozen=True)
class BuiltinRole:
    key: str
    name: str  # English msgid
    description: str
    grants: Grants = field(default_factory=dict)
    external: bool = False  # customers and patients: never staff


def _g(scope: Scope, *keys: str) -> Grants:
    return {k: (scope if CATALOGUE[k].scoped else Scope.ALL) for k in keys}


_SALES_BASE = (
    p.CRM_ACCOUNT_READ, p.CRM_ACCOUNT_WRITE, p.CRM_LEAD_READ, p.CRM_LEAD_WRITE,
    p.CRM_OPPORTUNITY_READ, p.CRM_OPPORTUNITY_WRITE, p.CRM_PRODUCT_READ, p.CRM_ORDER_READ,
    p.CRM_ORDER_WRITE, p.CRM_ORDER_CONFIRM, p.CRM_CONTRACT_READ, p.CRM_CONTRACT_WRITE, p.CRM_REPORT_READ,
    p.CRM_TICKET_READ,
)  # fmt: skip

BUILTIN_ROLES: dict[str, BuiltinRole] = {
    r.key: r
    for r in [
        BuiltinRole(
            "tenant_admin",
            "Tenant administrator",
            "Manages users, roles, settings and integrations; sees every record.",
            {k: Scope.ALL for k in CATALOGUE.names() if k != p.CUSTOMER_PORTAL_USE},
        ),
        BuiltinRole(
            "sales_rep", "Sales representative", "Works own leads, opportunities and orders.",
            {**_g(Scope.OWN, *_SALES_BASE), **_g(Scope.ALL, p.CRM_LEAD_IMPORT)},
        ),
        BuiltinRole(
            "sales_manager", "Sales manager", "Leads a sales team: sees and coaches the team's pipeline.",
            {**_g(Scope.TEAM, *_SALES_BASE), **_g(Scope.ALL, p.CRM_LEAD_IMPORT, p.CRM_LEAD_ASSIGN,
                                                  p.CRM_ACCOUNT_MERGE, p.CRM_PRODUCT_WRITE,
                                                  p.CRM_CAMPAIGN_READ)},
        ),
        BuiltinRole(
            "marketer", "Marketer", "Plans segments and campaigns and measures them.",
            _g(Scope.ALL, p.CRM_CAMPAIGN_READ, p.CRM_CAMPAIGN_WRITE, p.CRM_CAMPAIGN_SEND, p.CRM_ACCOUNT_READ,
               p.CRM_LEAD_READ, p.CRM_LEAD_WRITE, p.CRM_LEAD_IMPORT, p.CRM_REPORT_READ, p.CRM_PRODUCT_READ),
        ),
        BuiltinRole(
            "service_agent", "Service agent", "Handles tickets, repairs and satisfaction follow-up.",
            {**_g(Scope.TEAM, p.CRM_TICKET_READ, p.CRM_TICKET_WRITE, p.CRM_SURVEY_READ),
             **_g(Scope.ALL, p.CRM_ACCOUNT_READ, p.CRM_PRODUCT_READ, p.CRM_ORDER_READ)},
        ),
        BuiltinRole(
            "accountant", "Accountant", "Keeps the books: ledger, receivables, payables, statements.",
            _g(Scope.ALL, p.FIN_LEDGER_READ, p.FIN_JOURNAL_POST, p.FIN_PERIOD_CLOSE, p.FIN_RECEIVABLE_READ,
               p.FIN_RECEIVABLE_WRITE, p.FIN_PAYABLE_READ, p.FIN_PAYABLE_WRITE, p.FIN_SETTINGS_MANAGE,
               p.CRM_ACCOUNT_READ, p.CRM_ORDER_READ, p.CRM_CONTRACT_READ, p.HR_PAYROLL_READ),
        ),
        BuiltinRole(
            "buyer", "Buyer", "Selects suppliers and runs purchasing.",
            _g(Scope.ALL, p.SCM_SUPPLIER_READ, p.SCM_SUPPLIER_WRITE, p.SCM_PURCHASE_READ,
               p.SCM_PURCHASE_WRITE, p.SCM_PURCHASE_APPROVE, p.SCM_STOCK_READ, p.FIN_PAYABLE_READ),
        ),
        BuiltinRole(
            "warehouse_clerk", "Warehouse clerk", "Receives, issues, moves and ships stock.",
            _g(Scope.ALL, p.SCM_STOCK_READ, p.SCM_STOCK_MOVE, p.SCM_SHIPMENT_WRITE, p.SCM_PURCHASE_READ,
               p.CRM_ORDER_READ, p.MFG_QUALITY_WRITE),
        ),
        BuiltinRole(
            "production_planner", "Production planner", "Plans and runs production from demand and BOMs.",
            _g(Scope.ALL, p.MFG_BOM_READ, p.MFG_BOM_WRITE, p.MFG_PLAN_RUN, p.MFG_ORDER_READ,
               p.MFG_ORDER_WRITE, p.MFG_QUALITY_WRITE, p.SCM_STOCK_READ, p.SCM_PURCHASE_READ,
               p.CRM_ORDER_READ),
        ),
        BuiltinRole(
            "hr_manager", "HR manager", "Runs organisation, planning, performance and payroll.",
            _g(Scope.ALL, p.HR_ORG_READ, p.HR_ORG_MANAGE, p.HR_EMPLOYEE_READ, p.HR_EMPLOYEE_WRITE,
               p.HR_PLAN_MANAGE, p.HR_RECRUIT_READ, p.HR_RECRUIT_WRITE, p.HR_TRAINING_MANAGE,
               p.HR_PERFORMANCE_READ, p.HR_PERFORMANCE_WRITE, p.HR_PAYROLL_READ, p.HR_PAYROLL_RUN,
               p.HR_SELF_SERVICE),
        ),
        BuiltinRole(
            "recruiter", "Recruiter", "Runs requisitions, candidates, interviews and offers.",
            {**_g(Scope.TEAM, p.HR_RECRUIT_READ, p.HR_RECRUIT_WRITE), **_g(Scope.ALL, p.HR_ORG_READ,
                                                                            p.HR_SELF_SERVICE)},
        ),
        BuiltinRole(
            "employee", "Employee", "Self-service: own profile, leave, goals, training and payslips.",
            _g(Scope.OWN, p.HR_SELF_SERVICE, p.HR_ORG_READ),
        ),
        BuiltinRole(
            "clinician", "Clinician", "Sees own patients; writes records, diagnoses and orders.",
            {**_g(Scope.TEAM, p.HOS_PATIENT_READ, p.HOS_EMR_READ, p.HOS_EMR_WRITE),
             **_g(Scope.ALL, p.HOS_OR_BOOK, p.HOS_WORKLIST_USE)},
        ),
        BuiltinRole(
            "nurse", "Nurse", "Ward work: vitals, beds, transfers, worklists.",
            {**_g(Scope.TEAM, p.HOS_PATIENT_READ, p.HOS_EMR_READ, p.HOS_EMR_WRITE),
             **_g(Scope.ALL, p.HOS_BED_MANAGE, p.HOS_WORKLIST_USE)},
        ),
        BuiltinRole(
            "pharmacist", "Pharmacist", "Dispenses drugs and keeps pharmacy stock.",
            _g(Scope.ALL, p.HOS_PHARMACY_DISPENSE, p.SCM_STOCK_READ, p.SCM_STOCK_MOVE, p.SCM_PURCHASE_READ,
               p.HOS_PATIENT_READ),
        ),
        BuiltinRole(
            "cashier", "Cashier", "Registers patients and collects payments.",
            _g(Scope.ALL, p.HOS_PATIENT_READ, p.HOS_PATIENT_WRITE, p.HOS_BILLING_CHARGE,
               p.HOS_CASHIER_COLLECT),
        ),
        BuiltinRole(
            "hospital_admin", "Hospital administrator", "Runs hospital operations and decision support.",
            _g(Scope.ALL, p.HOS_PATIENT_READ, p.HOS_PATIENT_WRITE, p.HOS_BED_MANAGE, p.HOS_OR_BOOK,
               p.HOS_BILLING_CHARGE, p.HOS_ROSTER_MANAGE, p.HOS_REPORT_READ, p.SCM_STOCK_READ,
               p.FIN_LEDGER_READ),
        ),
        BuiltinRole(
            "customer", "Customer", "A customer's contact in the self-service portal.",
            _g(Scope.ALL, p.CUSTOMER_PORTAL_USE),
            external=True,
        ),
    ]
}  # fmt: skip


def parse_grants(entries: list[str]) -> Grants:
    """Stored form of a tenant-defined role: ``["crm.lead.read:team", "admin.audit.read"]``."""
    grants: Grants = {}
    for entry in entries:
        key, _, scope = entry.partition(":")
        if key not in CATALOGUE:
            continue  # a permission removed from the catalogue grants nothing
        grants[key] = Scope(scope) if (scope and CATALOGUE[key].scoped) else Scope.ALL
    return grants


def format_grants(grants: Grants) -> list[str]:
    return sorted(f"{k}:{v.value}" if CATALOGUE[k].scoped else k for k, v in grants.items())


def merge_grants(*grant_sets: Grants) -> Grants:
    """A user with several roles gets the widest scope any of them grants."""
    merged: Grants = {}
    for grants in grant_sets:
        for key, scope in grants.items():
            if key not in merged or scope.rank > merged[key].rank:
                merged[key] = scope
    return merged
