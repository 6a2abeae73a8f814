"""Customer master pages (CRM-1): accounts, contacts, the profile timeline, duplicates and merge,
search, CSV import/export."""
