"""Factories for the route-table tests: sales resources (tests/factories.py explains the contract)."""

from __future__ import annotations
