#!/usr/bin/python3
"""Password guesses per second that 40 parallel connections from one client
address get through (issue 9, 1f), with the default AUTH delays, without and
with the per-address failure budget. Usage:
    VOLLEY_BIN=build/release/volley /usr/bin/python3 bench/auth_budget.py [SECONDS] [RUNS]
Prints one line per run and the medians."""
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
from conftest import VolleyServer  # noqa: E402
from test_users import guess_for  # noqa: E402

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 20
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
results = {}
for label, budget in (("no budget", 0), ("budget 10/min", 10)):
    rates = []
    for run in range(runs):
        with tempfile.TemporaryDirectory() as d:
            srv = VolleyServer(Path(d), limits={"auth_failure_delay": "1s", "auth_failure_max_delay": "10s",
                                                "max_auth_failures_per_ip": budget})
            srv.start()
            try:
                checked, refused = guess_for(srv, seconds)
            finally:
                srv.shutdown()
        rates.append(checked / seconds)
        print(f"{label}: run {run + 1}: {checked} passwords checked, {refused} refused 454, {checked / seconds:.2f} guesses/s",
              flush=True)
    results[label] = statistics.median(rates)
for label, rate in results.items():
    print(f"median {label}: {rate:.2f} guesses/s")
