"""What other contexts may use of CRM (ARCHITECTURE.md: never its models or services).

Finance, supply chain and production read what they need about accounts and orders here, and
react to the events in app/crm/events.py.
"""

from __future__ import annotations
