"""The customer self-service portal (CRM-12): a customer contact's own account only."""
