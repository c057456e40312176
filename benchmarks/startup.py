"""Start-up time of `ca --version` and `ca -q` (against an instant fake model) vs bare Python.

    python benchmarks/startup.py [--runs 15]

Prints the median wall time of each and its ratio to `python -c pass`, measured in the same
run (the machines are noisy: compare ratios, not absolute times). Goal: `ca --version` <= 6x.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CA = [sys.executable, "-m", "code_assistant"]


def median_seconds(command: list[str], runs: int, env: dict[str, str], cwd: str) -> float:
    subprocess.run(command, env=env, cwd=cwd, capture_output=True, check=False)  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {done.stderr.decode()[-500:]}")
    return statistics.median(times)


def start_fake(script: Path) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.model_server", "--script", str(script), "--port", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    assert server.stdout is not None
    line = server.stdout.readline().strip()
    return server, line.removeprefix("listening on ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "script.json"
        script.write_text(json.dumps({"default": {"text": "instant answer"}}))
        server, url = start_fake(script)
        try:
            env = {**os.environ, "CA_HOME": tmp, "CA_OLLAMA_HOST": url, "NO_COLOR": "1"}
            baseline = median_seconds([sys.executable, "-c", "pass"], args.runs, env, tmp)
            rows = [
                ("python -c pass", baseline),
                ("ca --version", median_seconds([*CA, "--version"], args.runs, env, tmp)),
                ("ca -q (instant fake)", median_seconds([*CA, "-q", "hi"], args.runs, env, tmp)),
            ]
        finally:
            server.terminate()
            server.wait()
    print(f"median of {args.runs} runs each")
    for name, seconds in rows:
        print(f"{name:24s} {seconds * 1000:8.1f} ms   {seconds / baseline:5.1f}x python")
    version_ratio = rows[1][1] / baseline
    print(f"goal ca --version <= 6x python: {'met' if version_ratio <= 6 else 'NOT met'}")


if __name__ == "__main__":
    main()
