"""How long the test suite takes: the quick tier (plain ``pytest``) and CI's whole run from a fresh clone.

    python benchmarks/bench_tests.py --json benchmarks/tests.json          # the quick tier, this environment
    python benchmarks/bench_tests.py --ci --json benchmarks/tests.json     # and `bash .ci/run` on a fresh clone

The quick tier runs as README gives it (``python -m pytest``: the ``slow`` and ``env`` tiers deselected by
pyproject's ``addopts``) with ``--durations=10``; its CPU time is that of pytest and every process it started
(``getrusage(RUSAGE_CHILDREN)``), so it does not depend on how many workers share the cores.  ``--ci`` clones
the committed HEAD into a temporary folder and times ``CI=true bash .ci/run`` there, set-up included (a fresh
virtual environment, every extra, every tier).  ``render()`` gives RESULTS.md's section, ``readme()`` the
sentence README shows (``python -m tools.claims`` re-renders both from the stored JSON).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from benchmarks import _common  # noqa: E402

#: what the quick tier must stay under, in CPU minutes on 2 idle cores (README's promise)
QUICK_CPU_MIN = 5.0
#: what CI's whole run must stay under, in minutes
CI_MIN = 45.0


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def summary_counts(text: str) -> dict:
    """``{"passed": n, "failed": n, ...}`` from pytest's last summary line."""
    line = [ln for ln in text.splitlines() if re.search(r"\b(passed|failed|error)\b", ln)][-1]
    return {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|deselected|errors?|xfailed|xpassed)",
                                             line)}


def slowest(text: str, n: int = 5) -> list[dict]:
    """The slowest test phases listed by ``--durations`` (seconds, phase, test id)."""
    rows = re.findall(r"^([\d.]+)s (call|setup|teardown)\s+(\S+)", text, re.M)
    return [{"seconds": float(s), "phase": p, "test": t} for s, p, t in rows[:n]]


def failed_tests(text: str) -> list[str]:
    """The ids pytest's short summary lists as FAILED or ERROR."""
    return re.findall(r"^(?:FAILED|ERROR) (\S+)", text, re.M)


def quick_tier(python: str = sys.executable, cwd: str = ROOT) -> dict:
    env = dict(os.environ, PYTHONPATH=cwd, TF_CPP_MIN_LOG_LEVEL="2", TF_ENABLE_ONEDNN_OPTS="0")
    cpu0, t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=10"], cwd=cwd,
                          env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    return {"returncode": proc.returncode, "wall_s": wall, "cpu_s": cpu, "counts": summary_counts(proc.stdout),
            "slowest": slowest(proc.stdout), "failed_tests": failed_tests(proc.stdout)}


def ci_run(ref: str = "HEAD") -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        clone = os.path.join(tmp, "clone")
        subprocess.run(["git", "clone", "-q", ROOT, clone], check=True)
        subprocess.run(["git", "checkout", "-q", ref], cwd=clone, check=True)
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=clone, capture_output=True,
                                text=True).stdout.strip()
        t0 = time.perf_counter()
        proc = subprocess.run(["bash", ".ci/run"], cwd=clone, env=dict(os.environ, CI="true"), capture_output=True,
                              text=True)
        wall = time.perf_counter() - t0
    tail = proc.stdout[-20000:]
    return {"returncode": proc.returncode, "wall_s": wall, "commit": commit, "counts": summary_counts(tail),
            "slowest": slowest(tail), "failed_tests": failed_tests(tail)}


def render(data: dict) -> str:
    """The section of benchmarks/RESULTS.md, from the stored JSON."""
    q = data["quick"]
    c = q["counts"]
    out = [_common.provenance_line(data["meta"]), "",
           f"Quick tier (`python -m pytest`, as README gives it): {c.get('passed', 0)} passed, "
           f"{c.get('failed', 0)} failed, {c.get('deselected', 0)} deselected (the `slow` and `env` tiers); "
           f"**{q['cpu_s'] / 60:.1f} min of CPU** (target under {QUICK_CPU_MIN:.0f} "
           f"{_common.mark(q['cpu_s'] / 60 < QUICK_CPU_MIN)}), {q['wall_s'] / 60:.1f} min wall. Slowest: "
           + "; ".join(f"{r['test']} ({r['phase']}) {r['seconds']:.1f} s" for r in q["slowest"]) + "."]
    ci = data.get("ci")
    if ci:
        cc = ci["counts"]
        when = data.get("meta_ci", data["meta"])
        out += ["", f"CI's whole run (`CI=true bash .ci/run` on a fresh clone of {ci['commit']}, set-up included; "
                    f"`{when['command']}`, {when['date']}, machine load {when['load']:.1f}): "
                    f"exit status {ci['returncode']}, {cc.get('passed', 0)} passed, {cc.get('failed', 0)} failed; "
                    f"**{ci['wall_s'] / 60:.1f} min** (limit {CI_MIN:.0f} {_common.mark(ci['wall_s'] / 60 < CI_MIN)})"
                    + (f"; failed: {', '.join(ci['failed_tests'])}" if ci.get("failed_tests") else "") + "."]
    else:
        out += ["", "CI's whole run from a fresh clone: not measured by this run (`--ci`)."]
    return "\n".join(out) + "\n"


def readme(data: dict) -> str:
    """README's sentence on the quick tier."""
    q = data["quick"]
    return (f"The quick tier ran {q['counts'].get('passed', 0)} tests in {q['cpu_s'] / 60:.1f} min of CPU on "
            f"{data['meta']['machine'].split(',')[0]} ([benchmarks](benchmarks/RESULTS.md)).\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ci", action="store_true", help="also time `bash .ci/run` on a fresh clone of HEAD")
    ap.add_argument("--json", default=None, help="store the figures and their provenance here")
    ap.add_argument("--keep-quick", action="store_true",
                    help="keep the quick tier's figures stored in --json (with their provenance); run only --ci")
    args = ap.parse_args(argv)
    if args.keep_quick:
        if not (args.json and args.ci):
            ap.error("--keep-quick needs --json (the stored figures) and --ci")
        with open(args.json, encoding="utf-8") as f:
            data = json.load(f)
        data["meta_ci"] = _common.provenance("bench_tests.py", argv)
    else:
        data = {"meta": _common.provenance("bench_tests.py", argv), "quick": quick_tier()}
    if args.ci:
        data["ci"] = ci_run()
    print(render(data))
    if args.json:
        _common.save_json(args.json, data)
    failed = data["quick"]["returncode"] != 0 or (args.ci and data["ci"]["returncode"] != 0)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
