"""Wall time, CPU time and peak memory of each tutorial notebook: the sizing of a shared JupyterHub.

Each notebook runs in a fresh kernel (nbclient), one after the other (never in parallel: the numbers are
per student). Read from the kernel process and its children while it runs (psutil):

* peak RSS: the kernel's peak resident memory (Linux ``VmHWM``), the memory a student's server needs;
* CPU time: user + system seconds of the kernel and its children, the compute a student's run costs
  (CPU time / wall time = the cores it kept busy on average).

    python benchmarks/bench_notebooks.py                 # every notebook, a table on stdout
    python benchmarks/bench_notebooks.py --markdown out.md notebooks/02_*.ipynb
    python benchmarks/bench_notebooks.py --json benchmarks/notebooks.json --paste   # what the docs quote

``--paste`` rewrites the table between the ``notebooks-table`` markers of notebooks/README.md (sizing a
JupyterHub) from the run (tests/benchmarks/test_bench_notebooks.py checks it is what the stored JSON renders).
benchmarks/RESULTS.md and the docs site quote the same table as generated blocks: ``python -m tools.claims``
and ``python -m tools.docs_pages`` re-render them from the JSON.

Targets: each kernel under 1.2 GB at its peak (mybinder.org gives 2 GB to the kernel and the Jupyter server
together) and <= 60 s on two cores.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import threading
import time
from pathlib import Path

import _common
import nbformat
import psutil
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
#: the file that quotes the table between these markers (RESULTS.md's copy is a generated block of tools/claims.py)
QUOTED_IN = (ROOT / "notebooks" / "README.md",)
TABLE_START = "<!-- notebooks-table: rendered from benchmarks/notebooks.json by bench_notebooks.py --paste -->"
TABLE_END = "<!-- end notebooks-table -->"
#: a kernel's peak memory must stay under this (Binder's 2 GB holds the Jupyter server and the kernel)
PEAK_TARGET_GB = 1.2
#: one notebook's wall time on two cores, "run all"
WALL_TARGET_S = 60


def _peak_rss_mb(proc: psutil.Process) -> float:
    try:
        with open(f"/proc/{proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):  # peak resident set size
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        return proc.memory_info().rss / 2 ** 20
    except psutil.Error:
        return 0.0


def _cpu_s(proc: psutil.Process) -> float:
    try:
        t = proc.cpu_times()
        return t.user + t.system + t.children_user + t.children_system
    except psutil.Error:
        return 0.0


def _kernel(client):
    km = client.km
    if km is None or not km.has_kernel or getattr(km, "provisioner", None) is None:
        return None
    pid = getattr(km.provisioner, "pid", None) or getattr(getattr(km.provisioner, "process", None), "pid", None)
    try:
        return psutil.Process(pid) if pid else None
    except psutil.Error:
        return None


def run(path: Path) -> dict:
    """Execute ``path`` in a fresh kernel; its wall time (s), CPU time (s) and peak RSS (MB)."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    seen = {"rss": 0.0, "cpu": 0.0}
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            proc = _kernel(client)
            if proc is not None:
                seen["rss"] = max(seen["rss"], _peak_rss_mb(proc))
                seen["cpu"] = max(seen["cpu"], _cpu_s(proc))
            time.sleep(0.2)

    t = threading.Thread(target=watch, daemon=True)
    t0 = time.perf_counter()
    t.start()
    try:
        client.execute()
    finally:
        stop.set()
        t.join()
    wall = time.perf_counter() - t0
    # the derived figures are stored too: the docs quote them, and claims.json checks them against this file
    return {"notebook": path.name, "wall_s": wall, "cpu_s": seen["cpu"], "cores_busy": seen["cpu"] / wall,
            "peak_mb": seen["rss"], "peak_gb": seen["rss"] / 1024, "load": os.getloadavg()[1]}


def markdown(rows, machine: str, date: str | None = None, environment: str | None = None) -> str:
    when = f" ({date})" if date else ""
    env = f" The kernels ran in {environment}." if environment else ""
    lines = [f"Measured by `benchmarks/bench_notebooks.py` on {machine}{when}, one notebook at a time, each in a "
             f"fresh kernel (solutions included).{env}", "",
             "| notebook | wall time | CPU time (kernel) | cores busy on average | peak kernel memory | "
             "machine load (5-min average) |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['notebook']} | {r['wall_s']:.0f} s | {r['cpu_s']:.0f} s | "
                     f"{r['cpu_s'] / r['wall_s']:.1f} | {r['peak_mb'] / 1024:.2f} GB | {r['load']:.1f} |")
    top = max(rows, key=lambda r: r["peak_mb"])
    lines += ["", "A machine load above its core count means other work shared the cores: the wall times are then "
              "longer than on an idle machine; CPU time is hardly affected and memory not at all.",
              "", f"Largest: {top['notebook']} at {top['peak_mb'] / 1024:.2f} GB; total CPU time of the {len(rows)} notebooks: "
              f"{total_cpu_min(rows):.1f} min per student.",
              "", f"Targets: every kernel under {PEAK_TARGET_GB:g} GB at its peak "
              f"{_common.mark(all(r['peak_mb'] / 1024 < PEAK_TARGET_GB for r in rows))}; every notebook within "
              f"{WALL_TARGET_S} s {_common.mark(all(r['wall_s'] <= WALL_TARGET_S for r in rows))}"
              + "".join(f" ({r['notebook']} {r['wall_s']:.0f} s)" for r in rows if r["wall_s"] > WALL_TARGET_S) + "."]
    return "\n".join(lines) + "\n"


def from_json(data: dict) -> str:
    """The table as the docs quote it, from what ``--json`` stored."""
    return markdown(data["rows"], data["machine"], data.get("date"), data.get("environment"))


def paste(path: Path, table: str) -> None:
    """Replace the block between the markers in ``path`` with ``table`` (refuses a file without them)."""
    text = path.read_text(encoding="utf-8")
    start, end = text.find(TABLE_START), text.find(TABLE_END)
    if start < 0 or end < start:
        raise SystemExit(f"{path}: no {TABLE_START!r} ... {TABLE_END!r} block to paste into")
    path.write_text(text[:start + len(TABLE_START)] + "\n" + table + text[end:], encoding="utf-8")


def quoted(path: Path) -> str:
    """The table block of ``path`` as it stands."""
    text = path.read_text(encoding="utf-8")
    start = text.index(TABLE_START) + len(TABLE_START) + 1
    return text[start:text.index(TABLE_END, start)]


def total_cpu_min(rows) -> float:
    """One student's compute for the whole set: the kernels' CPU time summed, in minutes."""
    return sum(r["cpu_s"] for r in rows) / 60


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--markdown", type=Path, help="also write the table to this Markdown file")
    parser.add_argument("--json", type=Path, help="also write the rows (and the machine, date, total) as JSON")
    parser.add_argument("--environment", help="what the kernels' environment is, for the table's caption (e.g. "
                        "\"the environment `bash .ci/lab` sets up\")")
    parser.add_argument("--paste", action="store_true",
                        help="rewrite the quoted table in notebooks/README.md")
    args = parser.parse_args(argv)
    if args.paste and args.notebooks:
        parser.error("--paste quotes the whole set: run it without naming notebooks")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    machine = _common.machine()
    print(f"machine: {machine}")
    rows = []
    for p in paths:
        rows.append(run(p))
        r = rows[-1]
        print(f"{r['notebook']:36s} {r['wall_s']:6.1f} s wall {r['cpu_s']:6.1f} s CPU   peak kernel RSS "
              f"{r['peak_mb']:6.0f} MB", flush=True)
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    if args.markdown:
        args.markdown.write_text(markdown(rows, machine, date, args.environment), encoding="utf-8")
        print(f"wrote {args.markdown}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "date": date, "environment": args.environment, "rows": rows,
                                         "total_cpu_min": total_cpu_min(rows)}, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    if args.paste:
        data = {"machine": machine, "date": date, "environment": args.environment, "rows": rows}
        for path in QUOTED_IN:
            paste(path, from_json(data))
            print(f"pasted the table into {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
