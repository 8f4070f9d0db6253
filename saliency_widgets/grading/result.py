"""What grading one recorded answer produces: points per part, each with a line of feedback."""
from __future__ import annotations

from dataclasses import dataclass, field


class WrongAnswer(AssertionError):
    """A part of an answer is wrong; the message says why and gives a hint (never the right value)."""


class NotAnswered(AssertionError):
    """A part of an answer was left at ``None``."""


@dataclass(frozen=True)
class Part:
    """One graded part of an exercise: ``name``, its ``points``, and ``check()``, which returns a line of
    feedback when the part is right and raises :class:`WrongAnswer` / :class:`NotAnswered` when not."""

    name: str
    points: float
    check: object
    needs: tuple = ()


@dataclass
class PartResult:
    name: str
    points: float
    earned: float
    feedback: str


@dataclass
class CellResult:
    """The grade of one autograded cell (one exercise's record)."""

    exercise: str
    points: float
    parts: list = field(default_factory=list)
    reason: str = ""        # why every part scored 0 without being looked at (no record, another id, ...)

    @property
    def earned(self) -> float:
        return float(sum(p.earned for p in self.parts))

    def feedback(self) -> str:
        lines = [f"{self.exercise}: {self.earned:g} / {self.points:g} points (graded by saliency_widgets.grading)"]
        if self.reason:
            lines.append(f"  ✘ {self.reason}")
        for p in self.parts:
            lines.append(f"  {p.earned:g}/{p.points:g} {p.name}: {p.feedback}")
        return "\n".join(lines)


def evaluate(parts: list[Part]) -> list[PartResult]:
    """Each part's points: full when its check passes and every part it ``needs`` passed, else 0."""
    done: dict[str, bool] = {}
    out = []
    for part in parts:
        missing = [n for n in part.needs if not done.get(n)]
        if missing:
            ok, text = False, f"✘ not graded: it builds on {', '.join(missing)}, which is not right"
        else:
            try:
                ok, text = True, "✔ " + part.check()
            except NotAnswered as exc:
                ok, text = False, f"✘ not answered ({exc})"
            except WrongAnswer as exc:
                ok, text = False, f"✘ {exc}"
            except (KeyError, TypeError, ValueError, IndexError) as exc:   # a record not made by record()
                ok, text = False, f"✘ the recorded answer is malformed ({type(exc).__name__}: {exc})"
        done[part.name] = ok
        out.append(PartResult(part.name, part.points, part.points if ok else 0.0, text))
    return out
