"""Notifications (PLAT-7): in-app messages and e-mail, templated, translated, per-user preferences."""
