"""The widget's controls, and the request they describe (what to explain, how), from the registry."""
from __future__ import annotations

import contextlib

import ipywidgets as W
import numpy as np

from ..session import MethodChoice, RunRequest

__all__ = ["Controls", "hold"]

# viridis first: perceptually uniform (equal steps of the map look like equal steps of colour); jet is kept
# for comparison with the original prototype, whose figures use it
CMAPS = ("viridis", "inferno", "magma", "turbo", "jet", "gray")
DEFAULT_METHOD = "mask-update"


def hold(*widgets):
    """Group the trait changes of several widgets into one message each."""
    stack = contextlib.ExitStack()
    for w in widgets:
        stack.enter_context(w.hold_sync())
    return stack


def default_compare(methods: dict) -> list[str]:
    """The methods compare mode starts with: the default reading, the paper's method and RISE."""
    preferred = [k for k in ("mask-update", "mask-update-paper", "rise") if k in methods]
    return preferred if len(preferred) >= 2 else list(methods)[:2]


class Controls:
    """Every input control; :meth:`request` turns their values into a :class:`RunRequest`.

    Parameters
    ----------
    methods : {registry key: MethodSpec}, the methods offered (labels shown, keys as values)
    labels : the model's class names
    causal : bool, initial value of the insertion/deletion checkbox
    """

    def __init__(self, methods: dict, labels, *, causal: bool):
        self.methods = methods
        self.image_picker = W.Dropdown(description="image", layout=W.Layout(width="320px"))
        self.upload = W.FileUpload(accept="image/png,image/jpeg,.png,.jpg,.jpeg", multiple=False,
                                   description="Upload image", icon="upload")
        self.class_dropdown = W.Dropdown(description="class", layout=W.Layout(width="320px"))
        self.class_search = W.Combobox(placeholder="any class: name or index", options=tuple(labels[:2000]),
                                       ensure_option=False, continuous_update=False,
                                       layout=W.Layout(width="220px"))
        self.mode = W.ToggleButtons(options=["single", "compare"], value="single", description="mode",
                                    style={"button_width": "80px"})
        opts = [(s.label, key) for key, s in methods.items()]
        default = DEFAULT_METHOD if DEFAULT_METHOD in methods else opts[0][1]
        self.method_dropdown = W.Dropdown(options=opts, value=default, description="method",
                                          layout=W.Layout(width="380px"))
        self.compare_select = W.SelectMultiple(options=opts, value=tuple(default_compare(methods)),
                                               description="compare", rows=min(6, len(opts)),
                                               layout=W.Layout(width="380px", display="none"))
        self.budget_slider = W.IntSlider(description="passes", continuous_update=False,
                                         layout=W.Layout(width="380px"))
        # one slider per setting any offered method has (grid, chains, segments...), ranges from the registry
        self.option_sliders: dict[str, W.IntSlider] = {}
        for spec in methods.values():
            for name, opt in spec.options.items():
                if name not in self.option_sliders:
                    self.option_sliders[name] = W.IntSlider(value=opt.default, min=opt.low, max=opt.high,
                                                            description=name, continuous_update=False)
        self.run_button = W.Button(description="Run", button_style="primary", icon="play")
        self.stop_button = W.Button(description="Stop", button_style="warning", icon="stop", disabled=True)
        self.opacity = W.FloatSlider(value=0.5, min=0, max=1, step=0.05, description="opacity")
        self.cmap = W.Dropdown(options=CMAPS, value="viridis", description="colormap")
        self.step_slider = W.IntSlider(value=0, min=0, max=0, description="replay", layout=W.Layout(width="420px"))
        self.play = W.Play(value=0, min=0, max=0, interval=100, description="play")
        W.jslink((self.play, "value"), (self.step_slider, "value"))
        self.save_path = W.Text(value="explanation.npz", description="save to", layout=W.Layout(width="320px"))
        self.save_button = W.Button(description="Save", icon="download")
        self.causal_checkbox = W.Checkbox(value=causal, indent=False,
                                          description="insertion/deletion curves after the map (extra forward passes)",
                                          tooltip="two curves per method after a completed run, each one forward pass "
                                                  "per step of pixels: often more passes than the map itself",
                                          layout=W.Layout(width="auto"))
        # CSS classes: stable handles for the browser test and for users' own styling
        for widget, name in ((self.image_picker, "image"), (self.upload, "upload"), (self.class_dropdown, "class"),
                             (self.mode, "mode"), (self.method_dropdown, "method"),
                             (self.compare_select, "compare-methods"), (self.budget_slider, "budget"),
                             (self.run_button, "run"), (self.stop_button, "stop"), (self.causal_checkbox, "causal")):
            widget.add_class(f"saliency-{name}")

    @property
    def compare(self) -> bool:
        return self.mode.value == "compare"

    # == the request ============================================================
    def choice(self, key: str) -> MethodChoice:
        """Method ``key`` with the sliders' settings (the budget clipped to the method's range)."""
        spec = self.methods[key]
        budget = None
        if spec.budget is not None:
            budget = int(np.clip(self.budget_slider.value, spec.budget.low, spec.budget.high))
        return MethodChoice(key, budget, {name: int(self.option_sliders[name].value) for name in spec.options})

    def request(self, target: int) -> RunRequest:
        """What the controls ask for; a ValueError says what is missing."""
        if self.compare:
            keys = list(self.compare_select.value)
            if len(keys) < 2:
                raise ValueError("compare mode needs two or more methods: select them in the list")
        else:
            keys = [self.method_dropdown.value]
        return RunRequest(target, tuple(self.choice(k) for k in keys))

    # == layout that follows the method and the mode ============================
    def apply_method(self) -> None:
        """Budget range and default, and the visible settings, of the selected method."""
        spec = self.methods[self.method_dropdown.value]
        with hold(self.budget_slider, *self.option_sliders.values()):
            if spec.budget is not None:
                # the slider offers up to ten times the interactive budget (within the declared range, which
                # the constructor checks): a slider over 100,000 passes cannot pick a value by hand
                lo, hi = spec.budget.low, min(spec.budget.high, 10 * spec.ui_budget)
                self.budget_slider.min, self.budget_slider.max = 0, max(hi, self.budget_slider.max)
                self.budget_slider.max, self.budget_slider.min = hi, lo
                self.budget_slider.value = spec.ui_budget  # the interactive budget; the label shows it
                self.budget_slider.step = max(1, hi // 1000)
                self.budget_slider.tooltip = f"{spec.budget_arg}: forward passes in total (all chains together)"
            self.apply_mode()

    def apply_mode(self) -> None:
        """Single: one method and its settings; compare: a method list, the settings any of them uses."""
        compare = self.compare
        with hold(self.method_dropdown, self.compare_select, self.budget_slider, *self.option_sliders.values()):
            self.method_dropdown.layout.display = "none" if compare else None
            self.compare_select.layout.display = None if compare else "none"
            keys = self.compare_select.value if compare else (self.method_dropdown.value,)
            used = {n for k in keys for n in self.methods[k].options}
            for name, slider in self.option_sliders.items():
                slider.layout.visibility = "visible" if name in used else "hidden"
            # compare: every method with a budget runs on the slider's value (clipped to its range)
            budgeted = any(self.methods[k].budget is not None for k in keys)
            self.budget_slider.layout.visibility = "visible" if budgeted else "hidden"

    def set_running(self, running: bool) -> None:
        with hold(self.run_button, self.stop_button):
            self.run_button.disabled = running
            self.stop_button.disabled = not running
