"""The runbook's course, hand-in and grading, run as written, with honest and gamed hand-ins.

notebooks/README.md's blocks run line by line (``course-commands``, ``student-commands``,
``grading-commands``, ``feedback-commands``), the lecturer's with HOME a temporary folder (so ``~/saliency-lab``
and the secret land there) and the exchange in a temporary root; each student's as a JupyterHub user (the OS
user ``jovyan``, ``JUPYTERHUB_USER`` the student's id) with the runbook's students' nbgrader config.  Between
fetch and submit each student's ``lab/`` becomes their hand-in, built from the released notebooks and run
in a kernel with the course secret (``tests/handins.py``):

* ada: the instructor solutions under her own id (every notebook run); alan, her declared pair: the same files;
* bob: ada's notebooks handed in unchanged;
* carol: ``STUDENT = "instructor"`` and the numbers printed in the public notebooks (typed in);
* dave: constants for every number and letter;
* erin: the placeholder id, nothing answered, ``import sys; sys.stderr = sys.stdout`` (every notebook run:
  the unanswered student versions must run top to bottom);
* frank: nothing right, coursework's functions and ``_wrong`` replaced, the grader's inputs rebound
  (``coursework.case``, notebook 06's ``net2``);
* grace: the numbers computed from the exercise's formulas, every letter tried in turn;
* henry: the released notebooks unchanged, never run.

Slow (env): two full runs of the seven notebooks (ada, erin) on two kernels at a time, a few kernels that run
only the exercise cells, and nbgrader's commands; about 6 minutes on two idle cores.
"""
from __future__ import annotations

import csv
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import handins as h

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbgrader", reason="nbgrader is in the test and grading extras")

pytestmark = [pytest.mark.env, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
RUNBOOK = ROOT / "notebooks" / "README.md"
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("0[1-7]_*.ipynb"))
SCRIPT = ROOT / "notebooks" / "solutions" / "make_student_versions.py"
EXCHANGE_IN_RUNBOOK = "/srv/nbgrader/exchange"
COURSE_ID = "saliency-lab"
WRITTEN = sum(c.cell_type == "markdown" and "BEGIN SOLUTION" in c.source
              for n in NOTEBOOKS for c in nbformat.read(ROOT / "notebooks" / n, as_version=4).cells)
STUDENTS = ("ada", "alan", "bob", "carol", "dave", "erin", "frank", "grace", "henry")


def runbook_block(marker: str, lang: str = "bash") -> str:
    """The fenced block after ``<!-- marker ...-->`` in the runbook, as written."""
    m = re.search(rf"<!-- {marker}\b.*?-->\s*```{lang}\n(.*?)```", RUNBOOK.read_text(encoding="utf-8"), re.S)
    assert m, f"notebooks/README.md has no {lang} block marked {marker!r}"
    return m.group(1)


def shell_lines(block: str) -> list[str]:
    return [line for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]


def _env(home: Path, exchange: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "SALIENCY_WIDGETS_COURSE"))}
    env.update(HOME=str(home), TF_CPP_MIN_LOG_LEVEL="2", TF_ENABLE_ONEDNN_OPTS="0", **extra)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    # `python`, `nbgrader` and nbgrader's `alembic`: the test's environment first
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return env


def run_block(lines, *, exchange: Path, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    """``lines`` run by one bash, as written, the runbook's exchange replaced by ``exchange``."""
    script = "set -euo pipefail\n" + "\n".join(line.replace(EXCHANGE_IN_RUNBOOK, str(exchange)) for line in lines)
    out = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True)
    assert out.returncode == 0, f"{script}\n--- stdout\n{out.stdout[-3000:]}\n--- stderr\n{out.stderr[-5000:]}"
    return out


def hub_user_bin(folder: Path) -> Path:
    """A ``nbgrader`` that runs as a JupyterHub user server does: the OS user is ``jovyan``, the hub user is
    ``JUPYTERHUB_USER`` (nbgrader's own rule for who submits)."""
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / "nbgrader"
    exe.write_text(f"#!{sys.executable}\nimport nbgrader.utils\nnbgrader.utils.get_osusername = lambda: 'jovyan'\n"
                   "from nbgrader.apps.nbgraderapp import main\nmain()\n")
    exe.chmod(0o755)
    return folder


# ---- the hand-ins ------------------------------------------------------------------------------------

def published_answers() -> dict:
    """{exercise: answers} recorded in the public instructor notebooks' outputs (practice mode, "instructor")."""
    from saliency_widgets.coursework import records_in

    found = {}
    for name in NOTEBOOKS:
        for cell in nbformat.read(ROOT / "notebooks" / name, as_version=4).cells:
            for rec in records_in(cell.get("outputs", [])):
                found[rec["exercise"]] = rec["answers"]
    return found


def typed(answers: dict) -> str:
    """Python lines that assign ``answers`` (as a record stores them) to the notebook's answer names."""
    lines = []
    for name, value in answers.items():
        if name == "baseline" and value is not None:
            value = {int(k): v for k, v in value}
        if name == "aucs" and value is not None:
            value = {k: tuple(v) for k, v in value.items()}
        lines.append(f"{name} = {value!r}")
    return "\n".join(lines)


CONSTANTS = {"ex02-rule-solution": "on_stays = off_turns_on = max_change = 0.5",
             "ex03-cells-solution": "cell_px = share_of_side = 0.5\nanswer = 'a'",
             "ex03-tolerance-solution": "baseline = {t: 0.5 for t in (0, 5, 10, 15, 20, 30)}",
             "ex04-substrate-solution": "aucs = {k: ([0.5] * 10, [0.5] * 10) for k in coursework.SUBSTRATES}\n"
                                        "wins = {k: 0.5 for k in coursework.SUBSTRATES}\nvalid = 'mean'\nanswer = 'a'",
             "ex05-seeds-solution": "self_correlation = seed_correlation = 0.5\nanswer = 'a'",
             "ex07-predict-solution": "answer = 'a'",
             "ex07-by-hand-solution": "nd = 0.5"}

MONKEYPATCH = """from saliency_widgets import coursework as _cw
_cw._wrong = lambda *a, **k: None
for _name in [n for n in dir(_cw) if n.startswith("check_")]:
    setattr(_cw, _name, lambda *a, **k: True)
_cw.case = lambda key, student, **kw: {"p": 0.5, "learning_rate": 0.5}   # a case whose answers are known
on_stays = off_turns_on = max_change = 0.5"""
REBOUND_NET = """net2 = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(5))   # rebound: any net will do
def predict2(batch):
    with torch.no_grad():
        return net2(torch.from_numpy(batch)).numpy()"""
NO_RECORD = "coursework.record = lambda *a, **k: True\ncell_px = share_of_side = 0.5\nanswer = 'a'"
BRUTE_FORCE = """case = coursework.case("gradcam_cells", STUDENT)
cell_px, share_of_side = case["image_size"] / case["feature_size"], case["tolerance"] / case["image_size"]
notes = {l: coursework.record("ex03-cells", student=STUDENT, cell_px=cell_px, share_of_side=share_of_side,
                              answer=l)._repr_mimebundle_()["text/html"] for l in "abcd"}
answer = next((l for l in "abcd" if "✔" in notes[l]), None)   # the letter the old checks praised with ✔
print("different notes:", len(set(notes.values())))"""
BRUTE_FORCE_07 = """notes = {l: coursework.record("ex07-predict", student=STUDENT, answer=l)._repr_mimebundle_()["text/html"]
         for l in "abcd"}
answer = next((l for l in "abcd" if "✔" in notes[l]), None)
print("different notes:", len(set(notes.values())))"""


def _jobs(course: Path, env: dict, work: Path) -> dict:
    """{(student, notebook): job} for every notebook a kernel runs; the other hand-ins are copies."""
    release, source = course / "release" / "lab", course / "source" / "lab"
    rel = {n: nbformat.read(release / n, as_version=4) for n in NOTEBOOKS}
    src = {n: nbformat.read(source / n, as_version=4) for n in NOTEBOOKS}
    printed = published_answers()
    ph = "your-name-or-id"

    def full(nb):
        return lambda: h.execute(nb, env=env, cwd=work)

    def part(nb, also=None):
        return lambda: h.execute_exercise_cells(nb, env=env, cwd=work, also=also)

    jobs = {("ada", n): full(h.set_student(src[n], "ada", old="instructor")) for n in NOTEBOOKS}
    jobs.update({("erin", n): full(h.prepend(rel[n], h.STDERR_TRICK)) for n in NOTEBOOKS})
    for n in ("02_prototype_step_by_step.ipynb", "03_pointing_game.ipynb", "04_insertion_deletion.ipynb",
              "05_convergence.ipynb", "07_sanity_checks.ipynb"):
        carol, dave = h.set_student(rel[n], "instructor", old=ph), h.set_student(rel[n], "dave", old=ph)
        for cell in rel[n].cells:
            gid = h.grade_id(cell)
            if gid.endswith("-solution") and cell.cell_type == "code":
                ex = gid.removesuffix("-solution")
                carol = h.answer_with(carol, gid, typed(printed[ex]))
                dave = h.answer_with(dave, gid, CONSTANTS[gid])
        jobs[("carol", n)], jobs[("dave", n)] = part(carol), part(dave)
    frank02 = h.answer_with(h.set_student(rel["02_prototype_step_by_step.ipynb"], "frank", old=ph),
                            "ex02-rule-solution", MONKEYPATCH)
    frank03 = h.answer_with(h.set_student(rel["03_pointing_game.ipynb"], "frank", old=ph), "ex03-cells-solution",
                            NO_RECORD)
    frank06 = h.answer_with(h.set_student(h.prepend(rel["06_your_imagenet_model.ipynb"], "import torch\n"), "frank",
                                          old=ph), "ex06-predict-solution", REBOUND_NET)
    jobs.update({("frank", "02_prototype_step_by_step.ipynb"): part(frank02),
                 ("frank", "03_pointing_game.ipynb"): part(frank03),
                 ("frank", "06_your_imagenet_model.ipynb"): part(frank06, also="exercise_net")})
    grace03 = h.answer_with(h.set_student(rel["03_pointing_game.ipynb"], "grace", old=ph), "ex03-cells-solution",
                            BRUTE_FORCE)
    grace07 = h.answer_with(h.set_student(rel["07_sanity_checks.ipynb"], "grace", old=ph), "ex07-predict-solution",
                            BRUTE_FORCE_07)
    jobs.update({("grace", "03_pointing_game.ipynb"): part(grace03), ("grace", "07_sanity_checks.ipynb"): part(grace07)})
    return jobs


def build_handins(course: Path, secret: Path, work: Path) -> dict:
    """{student: {notebook: executed notebook}} (students absent from a notebook hand in the release as fetched)."""
    env = h.kernel_env(secret, ROOT)
    jobs = _jobs(course, env, work)
    done = dict(zip(jobs, h.run_all(list(jobs.values()), workers=2)))
    out = {s: {} for s in STUDENTS}
    for (student, name), nb in done.items():
        out[student][name] = nb
    out["alan"] = dict(out["ada"])                  # ada's pair hands in the pair's notebooks
    out["bob"] = dict(out["ada"])                   # another student's notebooks, unchanged
    return out


# ---- the course, as the runbook runs it ---------------------------------------------------------------

@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("runbook")
    lecturer, exchange, work = root / "lecturer", root / "exchange", root / "work"
    for d in (lecturer, work):
        d.mkdir()
    env = _env(lecturer, exchange)
    run_block(shell_lines(runbook_block("course-commands")), exchange=exchange, cwd=ROOT, env=env)
    course, secret = lecturer / "saliency-lab", lecturer / ".config" / "saliency-lab" / "secret"
    (course / "pairs.csv").write_text("ada,alan\n")
    t0 = time.perf_counter()
    handins = build_handins(course, secret, work)
    timings = {"hand-ins": time.perf_counter() - t0}
    student_lines = shell_lines(runbook_block("student-commands"))
    fetch, submit = ([line for line in student_lines if f"nbgrader {verb}" in line] for verb in ("fetch_assignment", "submit"))
    hub_bin = hub_user_bin(root / "hub-bin")
    config = runbook_block("student-config", "python").replace(EXCHANGE_IN_RUNBOOK, str(exchange))

    def student_env(s):
        home = root / "students" / s
        (home / ".jupyter").mkdir(parents=True, exist_ok=True)
        (home / ".jupyter" / "nbgrader_config.py").write_text(config)
        e = _env(home, exchange, JUPYTERHUB_USER=s)
        e["PATH"] = os.pathsep.join([str(hub_bin), e["PATH"]])
        return home, e

    def hand_in(s):
        home, e = student_env(s)
        run_block(fetch, exchange=exchange, cwd=home, env=e)
        for name, nb in handins[s].items():
            nbformat.write(nb, home / "lab" / name)
        run_block(submit, exchange=exchange, cwd=home, env=e)

    t0 = time.perf_counter()
    h.run_all([lambda s=s: hand_in(s) for s in STUDENTS], workers=3)
    timings["fetch and submit"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    graded = run_block(shell_lines(runbook_block("grading-commands")), exchange=exchange, cwd=ROOT, env=env)
    timings["grading commands"] = time.perf_counter() - t0
    feedback = shell_lines(runbook_block("feedback-commands"))
    h.run_all([lambda s=s: run_block(feedback, exchange=exchange, cwd=student_env(s)[0], env=student_env(s)[1])
               for s in STUDENTS], workers=3)
    print("timings (s):", {k: round(v) for k, v in timings.items()})
    return {"course": course, "exchange": exchange, "handins": handins, "students": root / "students",
            "log": graded.stdout + graded.stderr, "secret": secret.read_text().strip(), "root": root}


def scores(lab, student) -> dict:
    """{(notebook, autograded cell): (score, max)} from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{lab['course'] / 'gradebook.db'}") as gb:
        sub = gb.find_submission("lab", student)
        return {(nb.name, g.name): (g.score, g.max_score) for nb in sub.notebooks for g in nb.grades
                if g.cell_type == "code"}


def feedback_text(lab, student, notebook) -> str:
    nb = nbformat.read(lab["course"] / "autograded" / student / "lab" / notebook, as_version=4)
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def total(lab, student) -> float:
    return sum(s for s, _ in scores(lab, student).values())


# ---- honest work ------------------------------------------------------------------------------------

def test_the_instructor_solutions_under_the_students_own_id_get_full_marks(lab):
    got = scores(lab, "ada")
    assert {nb for nb, _ in got} == {n[:-6] for n in NOTEBOOKS}
    assert sum(m for _, m in got.values()) == 20
    for key, (score, max_score) in got.items():
        assert max_score > 0 and score == max_score, (key, score, feedback_text(lab, "ada", key[0] + ".ipynb"))


def test_a_declared_pair_hands_in_the_same_notebooks_for_full_marks(lab):
    assert total(lab, "alan") == 20


def test_unanswered_releases_score_zero(lab):
    assert scores(lab, "henry") and total(lab, "henry") == 0
    assert "no recorded answer" in feedback_text(lab, "henry", NOTEBOOKS[0])


# ---- gamed hand-ins ---------------------------------------------------------------------------------

@pytest.mark.parametrize("student", ["bob", "carol", "erin", "frank"])
def test_a_gamed_hand_in_scores_zero(lab, student):
    got = scores(lab, student)
    assert got and all(score == 0 for score, _ in got.values()), got


def test_another_students_notebooks_score_zero_and_say_whose_they_are(lab):
    assert "answered for 'ada', not by the submitter 'bob'" in feedback_text(lab, "bob", "02_prototype_step_by_step.ipynb")


def test_the_instructor_id_with_the_published_numbers_scores_zero(lab):
    assert "answered for 'instructor', not by the submitter 'carol'" in feedback_text(lab, "carol",
                                                                                      "02_prototype_step_by_step.ipynb")


def test_monkeypatching_the_students_kernel_changes_no_score(lab):
    fb = feedback_text(lab, "frank", "02_prototype_step_by_step.ipynb")
    assert "0 / 2 points" in fb and "not right for your p" in fb           # graded on frank's own case
    assert "no recorded answer" in feedback_text(lab, "frank", "03_pointing_game.ipynb")
    assert "predict2's scores are not net2's" in feedback_text(lab, "frank", "06_your_imagenet_model.ipynb")


def test_constants_score_zero_on_every_number_and_a_letter_only_by_chance(lab):
    from saliency_widgets import coursework as cw
    from saliency_widgets.grading.key import KEY

    def lucky(question):   # 'a' is dave's right letter under this course's secret: a guess that happens to hit
        return cw.letter_of(question, KEY[question][0], student="dave", secret=lab["secret"]) == "a"

    letters = {("03_pointing_game", "ex03-cells-check"): "gradcam_cells",
               ("04_insertion_deletion", "ex04-substrate-check"): "deletion_substrate",
               ("05_convergence", "ex05-seeds-check"): "self_convergence",
               ("07_sanity_checks", "ex07-predict-check"): "sanity_baseline"}
    for key, (score, _) in scores(lab, "dave").items():
        assert score == (1.0 if key in letters and lucky(letters[key]) else 0.0), (key, score)


def test_trying_every_letter_learns_nothing(lab):
    got = scores(lab, "grace")
    assert got[("03_pointing_game", "ex03-cells-check")][0] == 1            # the numbers, computed: 1 of 2
    assert got[("07_sanity_checks", "ex07-predict-check")][0] == 0
    assert "multiple choice: ✘ not answered" in feedback_text(lab, "grace", "03_pointing_game.ipynb")
    for name in ("03_pointing_game.ipynb", "07_sanity_checks.ipynb"):   # the four letters' notes were one
        nb = lab["handins"]["grace"][name]
        assert "different notes: 1" in "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))


def test_the_stderr_trick_runs_every_student_version_top_to_bottom_and_records_nothing(lab):
    """Erin's hand-in is the unanswered release run in a kernel: no cell raised, every recording cell said
    'not answered yet' (nbgrader's old rule, zero only for output on stderr, no longer decides anything)."""
    for name, nb in lab["handins"]["erin"].items():
        errors = [c.source[:80] for c in nb.cells if c.cell_type == "code"
                  and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
        assert not errors, f"{name}: cells raised in the unanswered student version: {errors}"
        records = [c for c in nb.cells if "coursework.record(" in c.source]
        assert records and all("not answered yet" in str(c.outputs) for c in records), name


# ---- the rest of the runbook ------------------------------------------------------------------------

def test_feedback_reaches_every_student_and_grades_export(lab):
    for s in STUDENTS:
        html = list((lab["students"] / s / "lab" / "feedback").rglob("*.html"))
        assert len(html) == len(NOTEBOOKS), (s, html)
    text = next((lab["students"] / "ada" / "lab" / "feedback").rglob("02_*.html")).read_text()
    assert "graded by saliency_widgets.grading" in text
    with open(lab["course"] / "grades.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    assert float(rows["ada"]["raw_score"]) == 20 and float(rows["bob"]["raw_score"]) == 0


def test_copied_model_answers_are_flagged_for_the_lecturer(lab):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{lab['course'] / 'gradebook.db'}") as gb:
        def comments(student):
            sub = gb.find_submission("lab", student)
            return [c.auto_comment or "" for nb in sub.notebooks for c in nb.comments if "written" in c.name]
        ada, erin = comments("ada"), comments("erin")
    assert len(ada) == WRITTEN and all("published model answer" in c for c in ada), ada
    assert not any("published model answer" in c for c in erin)


def test_the_course_folder_and_secret_are_outside_the_checkout_and_private(lab):
    config = (lab["course"] / "nbgrader_config.py").read_text()
    assert f"course_id = {COURSE_ID!r}" in config and str(lab["exchange"]) in config
    assert lab["secret"] not in config                                  # the config names the file only
    secret_file = lab["course"].parent / ".config" / "saliency-lab" / "secret"
    assert (secret_file.stat().st_mode & 0o777) == 0o600
    assert not str(lab["course"]).startswith(str(ROOT))


def test_released_versions_carry_no_solution_output_or_widget_state(lab):
    for name in NOTEBOOKS:
        nb = nbformat.read(lab["course"] / "release" / "lab" / name, as_version=4)
        assert "widgets" not in nb.metadata and "BEGIN SOLUTION" not in nbformat.writes(nb)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_student_versions_without_nbgrader_are_the_released_ones(lab, tmp_path, name):
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path), str(ROOT / "notebooks" / name)],
                   check=True, capture_output=True, env=_env(tmp_path, lab["exchange"]))
    ours = nbformat.read(tmp_path / name, as_version=4)
    released = nbformat.read(lab["course"] / "release" / "lab" / name, as_version=4)
    assert [(c.cell_type, c.source) for c in ours.cells] == [(c.cell_type, c.source) for c in released.cells]


def test_the_runbook_blocks_are_what_this_test_ran():
    """Every line of the blocks above is one of nbgrader's or the package's commands, or a cd."""
    for marker in ("course-commands", "student-commands", "grading-commands", "feedback-commands"):
        for line in shell_lines(runbook_block(marker)):
            argv = shlex.split(line)
            assert argv[0] in ("nbgrader", "python", "cd"), line
