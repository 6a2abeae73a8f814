"""The marketing portal (CRM-7/8/9): segments, campaigns, web forms, effectiveness."""
