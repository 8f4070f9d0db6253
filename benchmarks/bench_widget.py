"""ExplainWidget with the demo model: time from Run to the first map, refreshes per second.

Targets (issue 5): first map within 1 s of Run, >= 5 refreshes a second during the run.
Headless: the widget's traits are what a frontend would receive; the browser-side
numbers come from tests/test_browser.py (written to test-output/browser_timing.json).
"""
from __future__ import annotations

import _common
import numpy as np


def main():
    from saliency_widgets import ExplainWidget
    from saliency_widgets.demo import CLASS_NAMES, load_model, make_scenes

    print(f"machine: {_common.machine()}")
    model = load_model()
    scene = make_scenes(1, seed=3)
    for method, budget in (("mask-update", 5000), ("rise", 5000), ("mask-update (faithful)", 2000)):
        w = ExplainWidget(model, scene.images[0], labels=CLASS_NAMES, causal=False)
        w.method_dropdown.value = method
        w.budget_slider.value = budget
        w.run()
        w.wait()
        w.run()  # second run: compiled functions are warm, as in a session
        w.wait()
        times = np.array(w.refresh_times)
        duration = times[-1] - times[0] if len(times) > 1 else float("nan")
        rate = (len(times) - 1) / duration if len(times) > 1 else float("nan")
        print(f"{method:24s} budget {budget}: first map {w.first_map_seconds:.3f} s after Run, "
              f"{len(times)} refreshes over {duration:.2f} s = {rate:.1f} /s")


if __name__ == "__main__":
    main()
