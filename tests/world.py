"""The named tenants and personas of the test world (no side effects: safe to import anywhere)."""

from __future__ import annotations

from dataclasses import dataclass, field

BASE_DOMAIN = "tessera.test"
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Persona:
    key: str
    email: str
    name: str
    roles: tuple[str, ...]
    team: str | None = None


PERSONAS = [
    Persona("ada", "ada@{slug}.example", "Ada Admin", ("tenant_admin",)),
    Persona("alice", "alice@{slug}.example", "Alice Rep", ("sales_rep",), "East"),
    Persona("sam", "sam@{slug}.example", "Sam Manager", ("sales_manager",), "East"),
    Persona("bob", "bob@{slug}.example", "Bob Accountant", ("accountant",)),
    Persona("nora", "nora@{slug}.example", "Nora Noroles", ("employee",)),
    Persona("carol", "carol@{slug}-customer.example", "Carol Customer", ("customer",)),
    Persona("dave", "dave@{slug}.example", "Dave Rep", ("sales_rep",), "West"),
    Persona("mia", "mia@{slug}.example", "Mia Marketer", ("marketer",)),
    Persona("sue", "sue@{slug}.example", "Sue Agent", ("service_agent",), "Support"),
    Persona("tom", "tom@{slug}.example", "Tom Agent", ("service_agent",), "Support"),
]


@dataclass
class TenantWorld:
    slug: str
    id: int
    schema: str
    users: dict[str, int]
    teams: dict[str, int] = field(default_factory=dict)  # team name → id ("East", "West", "Support")

    def email(self, persona: str) -> str:
        p = next(p for p in PERSONAS if p.key == persona)
        return p.email.format(slug=self.slug)

    @property
    def host(self) -> str:
        return f"{self.slug}.{BASE_DOMAIN}"
