"""Build the sdist and the wheel a release would upload, check them, and record their size for the docs.

    python -m tools.wheel                 # build into dist/, twine check, write docs/wheel.json
    python -m tools.wheel --out DIR --no-record

The build is ``python -m build --no-isolation`` (the environment's own setuptools, nothing downloaded); the
wheel is made from the sdist, as a release's would be.  :func:`wheel_problems` lists what the wheel must hold
(the demo model and its permuted-label copy, the shipped results, the ImageNet class names, the photographs'
catalogue) and must not (repository tooling: ``tools/``, ``tests/``, ``benchmarks/``, ``claims.json``).
Repository tooling: nothing here is installed with the package.
"""
from __future__ import annotations

import argparse
import datetime
import glob
import json
import os
import subprocess
import sys
import tomllib
import zipfile

__all__ = ["ROOT", "RECORD", "REQUIRED", "FORBIDDEN", "version", "build", "twine_check", "wheel_problems",
           "record", "main"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECORD = os.path.join(ROOT, "docs", "wheel.json")
#: files the wheel must hold (what the package reads at run time)
REQUIRED = ("saliency_widgets/demo/data/demo_model.keras", "saliency_widgets/demo/data/demo_model_permuted.keras",
            "saliency_widgets/demo/data/results.json", "saliency_widgets/demo/data/imagenet_classes.txt",
            "saliency_widgets/demo/photos.py", "saliency_widgets/registry.py")
#: path parts no file of the wheel may have (repository tooling)
FORBIDDEN = ("tools/", "tests/", "benchmarks/", "notebooks/", "docs/", "binder/", "claims.json", ".ci/")


def version() -> str:
    """The version pyproject.toml declares."""
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)["project"]["version"]


def build(out: str) -> tuple[str, str]:
    """Build the sdist, then the wheel from it, into ``out``; returns their paths."""
    os.makedirs(out, exist_ok=True)
    for old in glob.glob(os.path.join(out, "saliency_widgets-*")):
        os.remove(old)
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"python -m build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    (sdist,), (wheel,) = (glob.glob(os.path.join(out, pattern))
                          for pattern in ("saliency_widgets-*.tar.gz", "saliency_widgets-*.whl"))
    return sdist, wheel


def twine_check(*paths: str) -> str:
    """``twine check --strict`` on ``paths``; raises with twine's report when it fails."""
    proc = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *paths], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"twine check failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def wheel_problems(wheel: str) -> list[str]:
    """What is wrong with the wheel: a required file missing, a tooling file present, a version that is not
    pyproject's."""
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = z.read(meta).decode("utf-8")
    problems = [f"missing {req}" for req in REQUIRED if req not in names]
    problems += [f"holds repository tooling: {n}" for n in names
                 if any(part in n for part in FORBIDDEN)]
    declared = next((line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Version:")),
                    None)
    if declared != version():
        problems.append(f"METADATA says version {declared}, pyproject.toml {version()}")
    return problems


def record(sdist: str, wheel: str, path: str = RECORD) -> dict:
    """Write the sizes of ``sdist`` and ``wheel`` to ``path`` (the docs render it) and return them."""
    with zipfile.ZipFile(wheel) as z:
        files = len(z.namelist())
    data = {"command": "python -m tools.wheel", "version": version(),
            "date": datetime.date.today().isoformat(),
            "wheel": os.path.basename(wheel), "bytes": os.path.getsize(wheel), "files": files,
            "sdist": os.path.basename(sdist), "sdist_bytes": os.path.getsize(sdist)}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    return data


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.wheel", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "dist"), help="where to build (default: dist/)")
    parser.add_argument("--no-record", action="store_true", help="do not rewrite docs/wheel.json")
    args = parser.parse_args(argv)
    sdist, wheel = build(args.out)
    print(twine_check(sdist, wheel).strip())
    problems = wheel_problems(wheel)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    if not args.no_record:
        data = record(sdist, wheel)
        print(f"wrote {RECORD}: {data['wheel']} {data['bytes'] / 1e6:.1f} MB, {data['sdist']} "
              f"{data['sdist_bytes'] / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
