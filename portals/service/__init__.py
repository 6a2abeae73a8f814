"""The service portal (CRM-10/11): tickets, SLA policies, repair records, satisfaction."""
