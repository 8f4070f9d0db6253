"""ExplainWidget with the demo model: time from Run to the first map, refreshes per second, Stop latency.

Targets: first map within 1 s of Run, >= 5 refreshes a second during the run, in single and compare mode;
Stop answers within 0.5 s. Headless: the counters are the session's (``widget.session.first_map_seconds``
/ ``refresh_times``), i.e. what the frontend is sent; the browser-side numbers come from
tests/test_browser.py (test-output/browser/browser_timing*.json).

    PYTHONPATH=. python benchmarks/bench_widget.py [--json benchmarks/widget.json]

:func:`render` is the section benchmarks/RESULTS.md shows, from the stored JSON.
"""
from __future__ import annotations

import threading
import time

import _common
import numpy as np


def rates(session):
    times = np.array(session.refresh_times)
    duration = times[-1] - times[0] if len(times) > 1 else float("nan")
    rate = (len(times) - 1) / duration if len(times) > 1 else float("nan")
    return session.first_map_seconds, len(times), duration, rate


def stop_latency(widget, *, runs: int = 5) -> list[float]:
    """Seconds from stop() to the run's end, each stop issued after the run's first map is shown."""
    out = []
    for _ in range(runs):
        shown = threading.Event()
        listener = widget.session.listener

        def spy(event, run, listener=listener):
            listener(event, run)
            if event == "update":
                shown.set()

        widget.session.listener = spy
        widget.run()
        shown.wait(30)
        t0 = time.perf_counter()
        widget.stop()
        widget.wait()
        out.append(time.perf_counter() - t0)
        widget.session.listener = listener
    return out


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=None, help="store the figures and their provenance here")
    args = ap.parse_args(argv)
    meta = _common.provenance("bench_widget.py", argv)
    rows = []
    from saliency_widgets import ExplainWidget
    from saliency_widgets.demo import CLASS_NAMES, load_model, make_scenes

    print(f"machine: {_common.machine()}")
    model = load_model()
    scene = make_scenes(1, objects=(2, 2), seed=11)
    cases = [("single", ["mask-update"], 5000), ("single", ["rise"], 5000), ("single", ["mask-update-paper"], 2000),
             ("compare", ["mask-update", "mask-update-paper", "rise"], 2000),
             ("compare", ["mask-update", "rise", "lime", "occlusion"], 1000)]
    for mode, methods, budget in cases:
        w = ExplainWidget(model, scene.images[0], labels=CLASS_NAMES, truth=scene.objects[0], causal=False,
                          compare=methods if mode == "compare" else None)
        if mode == "single":
            w.method_dropdown.value = methods[0]
        w.budget_slider.value = budget
        w.run()
        w.wait()
        w.run()  # second run: compiled functions are warm, as in a session
        w.wait()
        first, n, duration, rate = rates(w.session)
        labels = " | ".join(w.methods[m].label for m in methods)
        print(f"{mode:7s} {labels} @ {budget} passes: first map {first:.3f} s after Run, "
              f"{n} refreshes over {duration:.2f} s = {rate:.1f} /s")
        rows.append({"mode": mode, "methods": labels, "budget": budget, "first_map_s": first, "refreshes": n,
                     "per_s": rate})
    w = ExplainWidget(model, scene.images[0], labels=CLASS_NAMES, causal=False)
    w.method_dropdown.value = "mask-update-paper"  # one forward pass per step: the slowest to stop?
    w.budget_slider.value = 10000
    lat = stop_latency(w)
    print(f"stop latency ({w.methods['mask-update-paper'].label}, 10000 passes): "
          f"max {max(lat):.3f} s, median {np.median(lat):.3f} s over {len(lat)} stops")
    if args.json:
        _common.save_json(args.json, {"meta": meta, "rows": rows, "stop": {
            "method": w.methods["mask-update-paper"].label, "budget": 10000, "max_s": max(lat),
            "median_s": float(np.median(lat)), "n": len(lat)}})


def render(data: dict) -> str:
    """The section of benchmarks/RESULTS.md, from the stored JSON."""
    lines = [_common.provenance_line(data["meta"]), "",
             "Demo model, a two-object scene, no insertion/deletion curves; the second of two runs (warm), counters "
             "from the widget's session (what the front end is sent):", "",
             "| mode | methods @ forward passes | first map after Run | refreshes / s |", "| --- | --- | --- | --- |"]
    for r in data["rows"]:
        lines.append(f"| {r['mode']} | {r['methods']} @ {r['budget']} | {r['first_map_s']:.3f} s "
                     f"{_common.mark(r['first_map_s'] < 1)} | {r['per_s']:.1f} {_common.mark(r['per_s'] >= 5)} |")
    s = data["stop"]
    lines += ["", f"Targets: first map < 1 s, >= 5 refreshes / s. Stop latency, {s['method']} at {s['budget']:,} "
                  f"passes: at most {s['max_s']:.3f} s over {s['n']} stops (target 0.5 s "
                  f"{_common.mark(s['max_s'] <= 0.5)})."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
