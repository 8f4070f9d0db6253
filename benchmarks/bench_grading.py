"""Autograding time per student, as notebooks/README.md runs it: ``nbgrader autograde`` with the course's
grader (``saliency_widgets.grading``), on complete hand-ins (the instructor solutions of all seven notebooks
run under each student's own id with a course secret), and, for comparison, with nbgrader re-running every
hand-in first (its default).

Two students (a declared pair handing in the same complete notebooks, each graded in full) are graded in one
``nbgrader autograde`` process and one alone: the difference is the time one more student adds; the rest is the start-up paid once per run (nbgrader, TensorFlow, the demo model).  CPU
time is that of the child processes (nbgrader and, when re-running, its kernels).

    python benchmarks/bench_grading.py                                         # prints the measurement
    python benchmarks/bench_grading.py --json benchmarks/grading.json --paste  # what notebooks/README.md quotes

``--paste`` rewrites the block between the ``grading-time`` markers of notebooks/README.md from the JSON
(tests/benchmarks/test_bench_grading.py checks that the runbook quotes what the stored JSON renders).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
RUNBOOK = ROOT / "notebooks" / "README.md"
START = "<!-- grading-time: rendered from benchmarks/grading.json by benchmarks/bench_grading.py --paste -->"
END = "<!-- end grading-time -->"
RE_EXECUTE = '''
from nbgrader.preprocessors import ClearOutput, Execute
c.Autograde.sanitize_preprocessors = [ClearOutput] + c.Autograde.sanitize_preprocessors
c.Autograde.autograde_preprocessors = [Execute] + c.Autograde.autograde_preprocessors
'''


def _env(secret: Path) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_ENABLE_ONEDNN_OPTS="0",
               SALIENCY_WIDGETS_COURSE_SECRET_FILE=str(secret))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _timed(cmd, cwd, env) -> tuple[float, float]:
    """(wall s, CPU s of the child processes) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def make_course(tmp: Path) -> tuple[Path, dict]:
    """A course set up by the runbook's commands, in ``tmp``; (course folder, environment with its secret)."""
    secret = tmp / "secret"
    subprocess.run([sys.executable, "-m", "saliency_widgets.grading", "new-secret", str(secret)], check=True,
                   env=_env(secret), capture_output=True)
    env = _env(secret)
    course = tmp / "course"
    subprocess.run([sys.executable, str(ROOT / "notebooks" / "solutions" / "make_student_versions.py"), "--course",
                    str(course), "--exchange", str(tmp / "exchange"), "--secret-file", str(secret)], check=True,
                   env=env, capture_output=True)
    subprocess.run([str(Path(sys.executable).with_name("nbgrader")), "generate_assignment", "lab"], cwd=course,
                   check=True, env=env, capture_output=True)
    return course, env


def hand_in(course: Path, student: str, env: dict) -> None:
    """The instructor solutions run under ``student``'s id with the course secret, put in ``submitted/``."""
    dest = course / "submitted" / student / "lab"
    dest.mkdir(parents=True)
    for path in sorted((course / "source" / "lab").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "").endswith("-student"):
                cell.source = cell.source.replace('"instructor"', f'"{student}"')
        NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(dest)}}).execute(env=env)
        nbformat.write(nb, dest / path.name)
        print(f"  {student}: ran {path.name}", flush=True)


def measure(tmp: Path) -> dict:
    course, env = make_course(tmp)
    hand_in(course, "s1", env)
    # s2 is s1's declared pair and hands in the pair's notebooks: graded in full, like any complete hand-in
    shutil.copytree(course / "submitted" / "s1", course / "submitted" / "s2")
    (course / "pairs.csv").write_text("s1,s2\n", encoding="utf-8")
    nbgrader = str(Path(sys.executable).with_name("nbgrader"))
    one = _timed([nbgrader, "autograde", "lab", "--student", "s1", "--force"], course, env)
    two = _timed([nbgrader, "autograde", "lab", "--force"], course, env)
    per_student = (two[0] - one[0], two[1] - one[1])
    rerun = tmp / "rerun"
    shutil.copytree(course, rerun)
    with open(rerun / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write(RE_EXECUTE)
    again = _timed([nbgrader, "autograde", "lab", "--student", "s1", "--force"], rerun, env)
    return {"per_student_s": per_student[0], "per_student_cpu_s": per_student[1], "startup_s": one[0] - per_student[0],
            "one_student_s": one[0], "two_students_s": two[0], "rerun_one_student_s": again[0],
            "rerun_one_student_cpu_s": again[1]}


def sixty_minutes(data: dict, n: int = 60) -> float:
    """Minutes for ``n`` students in one run: start-up once, then each student."""
    return (data["startup_s"] + n * data["per_student_s"]) / 60


def render(data: dict) -> str:
    """The runbook's paragraph, from what ``--json`` stored."""
    return (f"Measured by `benchmarks/bench_grading.py` on {data['machine']} ({data['date']}, machine load "
            f"{data['load']:.1f}): one more student (seven notebooks, complete answers) adds "
            f"**{data['per_student_s']:.0f} s** to `nbgrader autograde` ({data['per_student_cpu_s']:.0f} s of CPU), after "
            f"{data['startup_s']:.0f} s of start-up per run, so **60 students take about {sixty_minutes(data):.0f} "
            f"minutes** in one `nbgrader autograde lab`. Re-running every hand-in first (nbgrader's default, which the "
            f"course's configuration turns off) took {data['rerun_one_student_s']:.0f} s for one student "
            f"({data['rerun_one_student_cpu_s']:.0f} s of CPU): about "
            f"{60 * data['rerun_one_student_s'] / 3600:.1f} hours for 60.\n")


def paste(path: Path, text: str) -> None:
    content = path.read_text(encoding="utf-8")
    start, end = content.find(START), content.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{path}: no {START!r} ... {END!r} block to paste into")
    path.write_text(content[:start + len(START)] + "\n" + text + content[end:], encoding="utf-8")


def quoted(path: Path) -> str:
    content = path.read_text(encoding="utf-8")
    start = content.index(START) + len(START) + 1
    return content[start:content.index(END, start)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="write the measurement (and the machine, date, load) as JSON")
    parser.add_argument("--paste", action="store_true", help="rewrite the quoted paragraph in notebooks/README.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data = measure(Path(tmp))
    data.update(machine=_common.machine(), load=os.getloadavg()[1],
                date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"))
    print(json.dumps(data, indent=1))
    print(render(data))
    if args.json:
        args.json.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    if args.paste:
        paste(RUNBOOK, render(data))


if __name__ == "__main__":
    main()
