"""Diagnosis only — NOT the application as shipped: Tessera's app with one knob changed, so that
bench/many_tenants.py can show what a cost is worth (``--whatif-registry-ttl``).

BENCH_WHATIF_REGISTRY_TTL  seconds the host -> tenant cache keeps an entry (shipped: 5 s). A
                           longer TTL delays suspensions reaching other processes, so it is not a
                           fix; it measures what the per-host registry lookups cost.
"""

from __future__ import annotations

import os

from litestar import Litestar


def create_app() -> Litestar:
    import tenants.routing

    ttl = os.environ.get("BENCH_WHATIF_REGISTRY_TTL")
    if ttl:
        tenants.routing.TTL_SECONDS = float(ttl)
    from app.main import create_app as create_tessera

    return create_tessera()
