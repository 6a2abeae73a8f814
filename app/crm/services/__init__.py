"""CRM use cases, one module per concept. Each state change is a named function that validates,
checks record rules, writes (audited) and publishes its events in the caller's transaction."""
