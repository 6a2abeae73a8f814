"""Fixtures of the CRM tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def crm_orders_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """CRM's order steps with no other context listening (app/crm/interface.py
    ``register_order_listener``). Finance invoices an order when it is confirmed or delivered;
    tests of CRM's own state machine play finance's part themselves (``mark_order_invoiced`` with
    their own numbers), so they run with the listeners detached. What finance does on those
    steps is tested in tests/finance/test_invoicing.py."""
    from app.crm import interface

    monkeypatch.setattr(interface, "ORDER_LISTENERS", {step: [] for step in interface.ORDER_LISTENERS})
