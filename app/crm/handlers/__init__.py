"""CRM's reactions to outbox events (its own and other contexts'), run by the workers.

One module per concept; importing this package registers every subscription (workers/actors.py
and the relay import it). Each handler is idempotent by construction: workers/runtime.py records
(handler, event) in the handler's transaction, and handlers that leave the database (e-mail)
derive stable Message-IDs from the event so a retried send is recognisably the same message.
"""

from app.crm.handlers import marketing, sales, service  # noqa: F401
