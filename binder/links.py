"""The Binder links of README.md and notebooks/README.md, made from pyproject's ``[project.urls] Repository``.

    python binder/links.py           # rewrite every mybinder.org link from the repository address
    python binder/links.py --check   # exit 1 and list the links that differ (tests/test_binder.py)

Each link keeps the notebook it opens (its ``urlpath``); only the repository part is generated.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = ("README.md", "notebooks/README.md")
LINK = re.compile(r"https://mybinder\.org/v2/gh/[^/\s)]+/[^/\s)]+/[^?\s)]+\?urlpath=([^\s)]+)")


def repository() -> tuple[str, str]:
    """(owner, name) of the GitHub repository declared in pyproject.toml."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"].get("urls", {})
    m = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?", urls.get("Repository", ""))
    if m is None:
        raise SystemExit("pyproject.toml: [project.urls] Repository must be https://github.com/OWNER/NAME, "
                         f"got {urls.get('Repository')!r}")
    return m.group(1), m.group(2)


def binder_url(urlpath: str, ref: str = "HEAD") -> str:
    """The mybinder.org address that opens ``urlpath`` (e.g. ``lab/tree/notebooks/01_quick_start.ipynb``)."""
    owner, name = repository()
    return f"https://mybinder.org/v2/gh/{owner}/{name}/{ref}?urlpath={urlpath}"


def rewrite(text: str) -> str:
    return LINK.sub(lambda m: binder_url(m.group(1)), text)


def main(argv=None) -> int:
    check = "--check" in (argv if argv is not None else sys.argv[1:])
    stale = []
    for rel in FILES:
        path = ROOT / rel
        text = path.read_text()
        new = rewrite(text)
        if new != text:
            stale.append(rel)
            if not check:
                path.write_text(new)
    if check and stale:
        print("Binder links not made from pyproject's Repository URL in: " + ", ".join(stale)
              + " (run python binder/links.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
