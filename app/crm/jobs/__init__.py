"""CRM's periodic work (app/kernel/periodic.py), fired per tenant by the scheduler.

One module per concept; importing this package registers every task. Each task acts on state,
so a second delivery or a skipped slot does no harm.
"""

from app.crm.jobs import marketing, sales, service  # noqa: F401
