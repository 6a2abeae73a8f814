"""Factories for the route-table tests: pipeline resources (tests/factories.py explains the contract)."""

from __future__ import annotations
