"""What the service portal's pages share: their paths and the navigation section."""

from __future__ import annotations

from app.kernel.i18n import lazy

SECTION = lazy("Service")
BASE = "/service/tickets"
RECORDS = "/service/records"
# Channels an agent records a ticket under when opening it in the service portal.
CHANNELS = {"agent": lazy("Service portal"), "phone": lazy("Phone")}
