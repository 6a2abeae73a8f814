"""Record factories of CRM resources for the route-table tests (see tests/factories.py).

One module per concept; each registers its resources with ``@factory("<resource>")``.
"""

from tests.crm.factories import customers, leads, marketing, pipeline, portal, sales, service  # noqa: F401
