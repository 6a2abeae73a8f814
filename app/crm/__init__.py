"""CRM: customers, sales, marketing, service and the customer self-service portal (CRM-1 … CRM-12).

Same inner layout as every context (docs/architecture.md): ``models/`` (one module per concept),
``schemas.py``, ``services/``, ``api/``, ``events.py``, ``handlers.py``, ``jobs.py``,
``interface.py``, ``errors.py``.
"""
