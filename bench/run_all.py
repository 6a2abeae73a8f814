"""Run every benchmark (platform, then CRM) one after the other and keep their reports.

    .venv/bin/python bench/run_all.py [--only provisioning,migrate,api_vs_bare,many_tenants,...]

Each benchmark runs in its own process with the current environment (DATABASE_URL / REDIS_URL:
see bench/README.md); its output is shown and also written to var/bench/results-<time>.txt.
Total time with the defaults: about 55 minutes (25 platform, 20 CRM, 10 finance).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from _common import ROOT, out

BENCHMARKS = (
    "provisioning",
    "migrate",
    "api_vs_bare",
    "many_tenants",
    "crm_pages",
    "crm_contact_import",
    "crm_segment_refresh",
    "finance_trial_balance",
    "finance_statements",
    "finance_posting",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated subset")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    results = ROOT / "var" / "bench" / f"results-{time.strftime('%Y%m%d-%H%M%S')}.txt"
    results.parent.mkdir(parents=True, exist_ok=True)
    failed = []
    with results.open("w") as log:
        for name in names:
            started = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name(f"{name}.py"))],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            assert proc.stdout is not None
            for line in proc.stdout:
                sys.stdout.write(line)
                log.write(line)
            proc.wait()
            line = f"-- {name}: exit {proc.returncode}, {time.perf_counter() - started:.0f} s\n"
            out(line.rstrip())
            log.write(line + "\n")
            log.flush()
            if proc.returncode:
                failed.append(name)
    out(f"reports written to {results}")
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
