"""The sales portal (CRM-2 … CRM-6): leads, pipeline, quotes and orders, contracts, performance."""
