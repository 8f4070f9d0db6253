"""One version: pyproject.toml's, the changelog's newest entry and ``saliency_widgets.__version__`` agree."""
import re
import tomllib
from pathlib import Path

import saliency_widgets

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_changelog_and_package_agree_on_the_version():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    changelog = (ROOT / "docs" / "changelog.md").read_text(encoding="utf-8")
    newest = re.search(r"^## (\S+)", changelog, re.M)
    assert newest, "docs/changelog.md has no '## VERSION' entry"
    assert newest.group(1) == version == saliency_widgets.__version__, (newest.group(1), version,
                                                                        saliency_widgets.__version__)
