"""Written answers that copy the published model answers.

The tutorials' model answers are public (the worked solutions for self-study).  The grader cannot mark a
written answer, but it can point the lecturer at one that repeats a model answer: the share of the answer's
five-word phrases that appear in the model answer.
"""
from __future__ import annotations

import re

SHINGLE = 5
#: the share of an answer's phrases found in the model answer from which it is flagged
FLAG_AT = 0.3


def _words(text: str) -> list[str]:
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    return re.findall(r"[a-z0-9]+", text.lower())


def _shingles(words: list[str]) -> set:
    return {tuple(words[i:i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def copied_share(answer: str, model: str) -> float:
    """The share of ``answer``'s five-word phrases that ``model`` contains (0 for an answer under five words)."""
    mine = _shingles(_words(answer))
    return len(mine & _shingles(_words(model))) / len(mine) if mine else 0.0


def model_answer(source: str) -> str:
    """The model answer of a written-answer cell's source (between the solution markers)."""
    m = re.search(r"BEGIN SOLUTION[^\n]*\n(.*?)\n[^\n]*END SOLUTION", source, re.S)
    return m.group(1) if m else ""


def copy_flag(answer: str, model: str) -> str | None:
    """A comment for the lecturer when ``answer`` repeats ``model``, else ``None``."""
    share = copied_share(answer, model)
    if share < FLAG_AT:
        return None
    return (f"Flagged by saliency_widgets.grading: {share:.0%} of this answer's five-word phrases are in the published "
            "model answer (rubric: a copied model answer scores 0).")
