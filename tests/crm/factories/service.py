"""Factories for the route-table tests: service resources (tests/factories.py explains the contract)."""

from __future__ import annotations
