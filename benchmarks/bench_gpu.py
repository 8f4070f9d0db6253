"""Explainers on an accelerator against the model's own forward-pass floor (issue 11).

For each framework present: PyTorch ResNet50 and MobileNetV2 modules
(torchvision, ``weights=None``; a small hand-written CNN if torchvision is
missing), Keras 3 MobileNetV2 and the demo model on every Keras backend that
is installed (each in its own process: Keras picks its backend at import).
Per model, in one run:

- the forward floor: batches of 256 already on the device, synchronised;
- ``Rise(masks=4096)``, ``MaskUpdate(steps=4096, chains=256)``, the default
  ``MaskUpdate(steps=4096)`` (32 chains), as efficiency = floor time / wall time;
- the paper's method: the prototype's pattern (one batch-1 call per step,
  masks made on the host; timed on a few steps and extrapolated) against the
  paper's rules in 256 chains (``MaskUpdate(chains=256, weighting="none")``),
  and ``MaskUpdate.faithful`` (1 chain on the device) per step;
- insertion + deletion of one image (224 steps each);
- first, same seed same map: a region-mean toy on the torch and JAX devices
  against the NumPy reference (max difference of the normalised maps);
- on JAX, the block size: ``Rise`` and ``MaskUpdate(chains=256)`` with 1, 2,
  4, 8 and 16 batches per compiled call (``--blocks``).

Every timing is the median of ``--repeats`` runs after a warm-up. Diagnostics
beside each row: JAX traces during the timed runs (re-tracing shows as > 0) and,
on CUDA, the host syncs of one further run (``torch.cuda.set_sync_debug_mode``).
``--json`` writes every row as it is measured (a killed run keeps what it had).

Warm-up (compilation) is excluded; every timing ends with a device sync.
Every section is guarded: an error is printed and the script goes on;
``--budget-s`` skips what is left once the budget is spent.

Usage::

    python benchmarks/bench_gpu.py [--quick] [--budget-s 420] [--out results.md] [--json rows.json]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import traceback

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Several frameworks share one GPU, in this process and in the Keras children (which inherit this
# environment): JAX must not grab 75% of the GPU memory at import (its default), nor TensorFlow all of it.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
os.environ.setdefault("XLA_PYTHON_CLIENT_MEM_FRACTION", "0.45")
os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")

T0 = time.perf_counter()


def log(*a):
    print(*a, flush=True)


def sizes(quick):
    if quick:
        return dict(px=64, n=64, chains=16, batch=16, proto_steps=5, faithful_steps=16, path_step=512)
    return dict(px=224, n=4096, chains=256, batch=256, proto_steps=50, faithful_steps=256, path_step=224)


class Budget:
    def __init__(self, seconds):
        self.seconds = seconds

    def left(self):
        return self.seconds - (time.perf_counter() - T0)

    def spent(self):
        return self.left() <= 0


class Rows:
    """The measurements: markdown cells plus machine-readable fields, saved to ``path`` after every row."""

    def __init__(self, path=None, meta=None):
        self.path = path
        self.meta = dict(meta or {})
        self.items: list = []

    def add(self, model, section, result, eff="", **fields):
        self.items.append(dict(model=model, section=section, result=result, efficiency_text=eff, **fields))
        self.save()

    def extend(self, items):
        self.items.extend(items)
        self.save()

    def save(self):
        if not self.path:
            return
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(dict(meta=self.meta, rows=self.items), f, indent=1, default=str)
        os.replace(tmp, self.path)  # a run killed mid-write keeps the previous file whole

    def table(self):
        lines = ["| model | measurement | result | efficiency (floor / wall) |", "| --- | --- | --- | --- |"]
        lines += [f"| {r['model']} | {r['section']} | {r['result']} | {r['efficiency_text']} |" for r in self.items]
        return "\n".join(lines) + "\n"


class TraceCounter:
    """JAX traces (one per compiled function and shape) since ``reset``: > 0 in a timed run is re-tracing."""

    def __init__(self):
        self.count = 0
        self.installed = False
        if "jax" in sys.modules:
            try:
                import jax.monitoring as mon

                def on_event(event, duration, **kw):
                    if event.endswith("jaxpr_trace_duration"):
                        self.count += 1
                mon.register_event_duration_secs_listener(on_event)
                self.installed = True
            except Exception:
                pass

    def reset(self):
        self.count = 0

    def read(self):
        return self.count if self.installed else None


def host_syncs(fn):
    """Host syncs in one call of ``fn`` on CUDA (torch's sync debug mode warns at each), else None."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    import warnings
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                fn()
            finally:
                torch.cuda.set_sync_debug_mode("default")
        return sum("synchroniz" in str(w.message).lower() for w in caught)
    except Exception:  # a diagnostic: never the reason a timed row is lost
        traceback.print_exc()
        return None


def release_device_memory():
    """Drop unreachable models and arrays and hand cached GPU memory back, so the next section (or the
    next process) finds the GPU free."""
    import gc
    gc.collect()
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        if torch.cuda.is_available():
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
    if "jax" in sys.modules:
        try:
            sys.modules["jax"].clear_caches()
        except Exception:
            pass


def timed(fn, sync):
    sync()
    t0 = time.perf_counter()
    out = fn()
    sync()
    return out, time.perf_counter() - t0


def timed_median(fn, sync, repeats):
    """(last output, median wall time, every wall time) of ``repeats`` synchronised calls."""
    walls = []
    out = None
    for _ in range(max(1, repeats)):
        out, t = timed(fn, sync)
        walls.append(t)
    return out, float(np.median(walls)), walls


def bench_model(label, model, image, sync, device_forward, cfg, budget, rows):
    """All sections for one wrapped model; adds its rows (model, section, result, efficiency) to ``rows``.

    Returns the block-size sweep to run later (JAX backends with ``cfg["blocks"]``), else None.
    """
    from saliency_widgets import MaskUpdate, Rise, as_model

    adapter = as_model(model, batch_size=cfg["batch"])
    be = adapter.backend
    h, w = image.shape[:2]
    nb_default = be.batches_per_call(cfg["batch"], h * w)
    log(f"== {label}: {adapter!r}, backend {be!r}, {nb_default} batch(es) of {cfg['batch']} per compiled call")
    traces = TraceCounter()
    reps_timed = cfg.get("repeats", 3)
    # Forward floor: data already on the device.
    try:
        batch = be.asarray(np.repeat(image[None], cfg["batch"], 0))
        for _ in range(3):
            device_forward(batch)
        reps = max(2, cfg["n"] // cfg["batch"])
        _, t, walls = timed_median(lambda: [device_forward(batch) for _ in range(reps)], sync, reps_timed)
        per_pass = t / (reps * cfg["batch"])
        log(f"{label}: forward floor {1 / per_pass:,.0f} img/s (batch {cfg['batch']} on the device)")
        rows.add(label, f"forward floor (batch {cfg['batch']})", f"{1 / per_pass:,.0f} img/s", key="floor",
                 floor_img_s=1 / per_pass, wall_s=t, walls=walls, passes=reps * cfg["batch"],
                 backend=be.name, batch=cfg["batch"], pixels=h * w, nb_default=nb_default)
    except Exception as exc:
        traceback.print_exc()
        rows.add(label, "forward floor", f"error: {type(exc).__name__}: {exc}", key="floor", error=repr(exc))
        return
    n = cfg["n"]

    def run(name, make, passes, key, **extra):
        if budget.spent():
            log(f"{label}: {name}: skipped (budget spent)")
            rows.add(label, name, "skipped (budget)", key=key, skipped=True, **extra)
            return None
        try:
            exp = make()
            exp.explain(image, 0)  # warm-up: compiles the steps for these shapes
            traces.reset()
            _, wall, walls = timed_median(lambda: exp.explain(image, 0), sync, reps_timed)
            n_traces = traces.read() if be.name == "jax" else None
            syncs = host_syncs(lambda: exp.explain(image, 0)) if key in ("rise", "mu_chains") else None
            eff = (passes + 1) * per_pass / wall
            log(f"{label}: {name}: {wall:.3f} s (median of {len(walls)}), efficiency {eff:.2f}"
                + (f", {n_traces} trace(s) while timed" if n_traces else "")
                + (f", {syncs} host sync(s) per run" if syncs is not None else ""))
            rows.add(label, name, f"{wall:.3f} s", f"{eff:.2f}", key=key, wall_s=wall, walls=walls,
                     efficiency=eff, passes=passes + 1, traces_timed=n_traces, host_syncs=syncs, **extra)
            return wall
        except Exception as exc:
            traceback.print_exc()
            rows.add(label, name, f"error: {type(exc).__name__}", key=key, error=repr(exc), **extra)
            return None

    c = cfg["chains"]
    run(f"Rise(masks={n})", lambda: Rise(adapter, masks=n, seed=0), n, "rise", nb=nb_default)
    run(f"MaskUpdate(steps={n}, chains={c})", lambda: MaskUpdate(adapter, steps=n, chains=c, seed=0), n,
        "mu_chains", nb=be.batches_per_call(c, h * w))
    run(f"MaskUpdate(steps={n}) default (32 chains)", lambda: MaskUpdate(adapter, steps=n, seed=0), n,
        "mu_default")
    chains_wall = run(f"paper's rules in chains: MaskUpdate(steps={n}, chains={c}, weighting='none')",
                      lambda: MaskUpdate(adapter, steps=n, chains=c, weighting="none", seed=0), n,
                      "paper_chains")
    prototype_pattern(label, adapter, image, sync, cfg, budget, rows, chains_wall)
    fs = cfg["faithful_steps"]
    wf = run(f"MaskUpdate.faithful(steps={fs}) (1 chain on the device)",
             lambda: MaskUpdate.faithful(adapter, steps=fs, seed=0), fs, "faithful")
    if wf:
        rows.items[-1]["result"] = f"{wf:.3f} s = {1000 * wf / fs:.2f} ms per step"
        rows.items[-1]["per_step_ms"] = 1000 * wf / fs
        rows.save()
    insertion_deletion(label, adapter, image, sync, cfg, budget, rows, per_pass)
    if cfg.get("blocks") and be.scan is not None:  # run by the caller once every model's main rows are in
        return lambda: block_sweep(label, adapter, run, cfg, n, c, h * w, nb_default)
    return None


def prototype_pattern(label, adapter, image, sync, cfg, budget, rows, chains_wall):
    """The prototype's pattern: the mask made on the host, one batch-1 call per step, the score back each step."""
    if budget.spent():
        rows.add(label, "prototype pattern (one batch-1 call per step)", "skipped (budget)", key="prototype",
                 skipped=True)
        return
    try:
        rng = np.random.default_rng(0)
        x1 = image[None]
        adapter.predict(x1)
        steps = cfg["proto_steps"]

        def proto():
            for _ in range(steps):
                m = rng.random(image.shape[:2]).astype(np.float32)[None, ..., None]
                float(adapter.predict(x1 * m)[0, 0])

        _, t, walls = timed_median(proto, sync, cfg.get("repeats", 3))
        per_step = t / steps
        n = cfg["n"]
        speedup = per_step * n / chains_wall if chains_wall else None
        line = f"{1000 * per_step:.2f} ms per step"
        if speedup:
            line += f"; paper's rules in {cfg['chains']} chains: {speedup:.0f}x faster"
        log(f"{label}: prototype pattern (batch-1 call per step): {line}")
        rows.add(label, "prototype pattern (one batch-1 call per step)", line, key="prototype",
                 per_step_ms=1000 * per_step, walls=walls, steps=steps, speedup=speedup,
                 chains_wall_s=chains_wall)
    except Exception as exc:
        traceback.print_exc()
        rows.add(label, "prototype pattern", f"error: {type(exc).__name__}", key="prototype", error=repr(exc))


def insertion_deletion(label, adapter, image, sync, cfg, budget, rows, per_pass):
    """Insertion + deletion of one image, then the same two paths through ``path_scores`` alone."""
    from saliency_widgets.metrics.causal import blur, deletion, insertion
    from saliency_widgets.metrics.ranking import rank_order
    from saliency_widgets.occluder import resolve_occluder

    if budget.spent():
        rows.add(label, "insertion + deletion", "skipped (budget)", key="insdel", skipped=True)
        return
    try:
        sal = np.random.default_rng(1).random(image.shape[:2]).astype(np.float32)
        step = cfg["path_step"]

        def both():
            return (insertion(adapter, image, sal, 0, step=step),
                    deletion(adapter, image, sal, 0, step=step))

        both()
        (ins, dele), wall, walls = timed_median(both, sync, cfg.get("repeats", 3))
        passes = len(ins.scores) + len(dele.scores)
        eff = passes * per_pass / wall
        log(f"{label}: insertion+deletion ({passes} passes): {wall:.3f} s, efficiency {eff:.2f}")
        rows.add(label, f"insertion + deletion ({passes} passes)", f"{wall:.3f} s", f"{eff:.2f}", key="insdel",
                 wall_s=wall, walls=walls, efficiency=eff, passes=passes)
        # The device part alone, without the metric's host work (ranking the map's pixels, the blur).
        x = adapter.prepare(image)
        order = rank_order(sal)
        counts = np.minimum(np.arange(int(np.ceil(order.size / step)) + 1) * step, order.size)
        start_ins = blur(x, 5).astype(np.float32)
        fill = resolve_occluder(x, "auto", model=adapter)

        def paths():
            return (adapter.path_scores(start_ins, x, order, counts, 0),
                    adapter.path_scores(x, fill, order, counts, 0))

        paths()
        _, wall, walls = timed_median(paths, sync, cfg.get("repeats", 3))
        eff = 2 * len(counts) * per_pass / wall
        log(f"{label}: path_scores only ({2 * len(counts)} passes): {wall:.3f} s, efficiency {eff:.2f}")
        rows.add(label, f"path_scores only, no metric host work ({2 * len(counts)} passes)", f"{wall:.3f} s",
                 f"{eff:.2f}", key="paths", wall_s=wall, walls=walls, efficiency=eff, passes=2 * len(counts))
    except Exception as exc:
        traceback.print_exc()
        rows.add(label, "insertion + deletion", f"error: {type(exc).__name__}", key="insdel", error=repr(exc))


def block_sweep(label, adapter, run, cfg, n, chains, pixels, nb_default):
    """RISE and the mask update in chains with ``nb`` batches per compiled call (a ``lax.scan`` block).

    The default block size is not run again: the model's main rows measured it (their ``nb`` field).
    """
    from saliency_widgets import MaskUpdate, Rise

    be = adapter.backend
    saved = be.__dict__.get("pixels_per_dispatch")
    try:
        for nb in cfg["blocks"]:
            if nb * cfg["batch"] > n or nb == nb_default:
                continue  # no full block (the per-batch path again), or the main rows' block size
            be.pixels_per_dispatch = nb * cfg["batch"] * pixels
            assert be.batches_per_call(cfg["batch"], pixels) == nb, "block size not applied"
            run(f"block {nb}: Rise(masks={n})", lambda: Rise(adapter, masks=n, seed=0), n, "block_rise", nb=nb)
            run(f"block {nb}: MaskUpdate(steps={n}, chains={chains})",
                lambda: MaskUpdate(adapter, steps=n, chains=chains, seed=0), n, "block_mu", nb=nb)
    finally:
        if saved is None:
            be.__dict__.pop("pixels_per_dispatch", None)
        else:
            be.pixels_per_dispatch = saved


# -- same seed, same map on the device ----------------------------------------
def same_map_check(rows):
    """A region-mean toy on every device framework present against the NumPy reference (max |diff|)."""
    import importlib.util
    from saliency_widgets import Lime, MaskUpdate, Occlusion, Rise
    rr, cc = slice(20, 60), slice(30, 90)

    def numpy_region(x):
        s = x[:, rr, cc].mean(axis=(1, 2, 3))
        return np.stack([s, 1 - s], 1)

    models = {}
    if importlib.util.find_spec("torch") is not None:
        import torch

        class TorchRegion(torch.nn.Module):
            def forward(self, x):
                s = x[:, :, rr, cc].mean(dim=(1, 2, 3))
                return torch.stack([s, 1 - s], 1)

        models["torch " + ("cuda" if torch.cuda.is_available() else "cpu")] = TorchRegion().to(
            "cuda" if torch.cuda.is_available() else "cpu")
    if importlib.util.find_spec("jax") is not None:
        import jax
        import jax.numpy as jnp

        @jax.jit
        def jax_region(x):
            s = x[:, rr, cc].mean(axis=(1, 2, 3))
            return jnp.stack([s, 1 - s], 1)

        models[f"jax {jax.devices()[0].platform}"] = jax_region
    img = np.random.default_rng(0).random((112, 112, 3)).astype(np.float32)
    # Sizes that cover the device loops: on a GPU, JAX runs blocks of about 2048 images per call
    # (at most 32 batches) and the rest batch by batch.
    cases = {
        "Rise(masks=2600)": lambda m, bs: Rise(m, masks=2600, occluder="zero", batch_size=bs, seed=1),
        "MaskUpdate.faithful(steps=300)": lambda m, bs: MaskUpdate.faithful(m, steps=300, occluder="zero",
                                                                            batch_size=bs, seed=1),
        "MaskUpdate(steps=2100)": lambda m, bs: MaskUpdate(m, steps=2100, occluder="zero", batch_size=bs, seed=1),
        "Occlusion": lambda m, bs: Occlusion(m, occluder="zero", batch_size=bs),
        "Lime(samples=300)": lambda m, bs: Lime(m, samples=300, occluder="zero", batch_size=bs, seed=1),
    }
    for case, make in cases.items():
        try:
            ref = make(numpy_region, 64).explain(img, 0).saliency
            for label, m in models.items():
                diff = max(float(np.abs(make(m, bs).explain(img, 0).saliency - ref).max()) for bs in (37, 256))
                log(f"same map: {case} on {label} vs NumPy: max |diff| {diff:.2e} (normalised map, bs 37 and 256)")
                rows.add("region toy", f"{case}, {label} vs NumPy", f"max diff {diff:.1e}", key="same_map",
                         case=case, device=label, max_diff=diff)
        except Exception as exc:
            traceback.print_exc()
            rows.add("region toy", case, f"error: {type(exc).__name__}", key="same_map", case=case,
                     error=repr(exc))


# -- PyTorch modules -----------------------------------------------------------
def torch_models(px):
    import torch
    try:
        import torchvision
        return [("PyTorch ResNet50", torchvision.models.resnet50(weights=None)),
                ("PyTorch MobileNetV2", torchvision.models.mobilenet_v2(weights=None))]
    except Exception as exc:
        log(f"torchvision unavailable ({type(exc).__name__}: {exc}); a hand-written CNN instead")
        net = torch.nn.Sequential(
            torch.nn.Conv2d(3, 64, 3, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(64, 128, 3, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(128, 256, 3, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(256, 1000))
        return [("PyTorch hand-written CNN", net)]


def run_torch(cfg, budget, rows):
    import torch
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    log(f"torch {torch.__version__} on {torch.cuda.get_device_name() if dev.type == 'cuda' else 'CPU'}")
    torch.backends.cudnn.benchmark = True
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    img = np.random.default_rng(0).uniform(-1, 1, (cfg["px"], cfg["px"], 3)).astype(np.float32)
    models = torch_models(cfg["px"])
    while models:
        label, net = models.pop(0)  # popped: the list holds no model once its section is done
        if budget.spent():
            log(f"{label}: skipped (budget spent)")
            continue
        try:
            net = net.to(dev).eval()

            def fwd(b, net=net):
                with torch.inference_mode():
                    return net(b.permute(0, 3, 1, 2))

            bench_model(label, net, img, sync, fwd, cfg, budget, rows)
        except Exception:
            traceback.print_exc()
        finally:
            net = fwd = None
            release_device_memory()


# -- Keras 3 (one backend per process) ----------------------------------------
def run_keras_child(cfg, budget, rows, quick):
    import keras
    backend = keras.backend.backend()
    log(f"keras {keras.__version__} on {backend}")
    if backend == "jax":
        import jax
        sync_arr = []

        def sync():
            for a in sync_arr:
                jax.block_until_ready(a)
            sync_arr.clear()
        log(f"jax {jax.__version__} devices {jax.devices()}")

        def mk_fwd(model):
            f = jax.jit(lambda x: model(x, training=False))

            def fwd(b):
                out = f(b)
                sync_arr.append(out)
                return out
            return fwd
    elif backend == "torch":
        import torch
        sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)

        def mk_fwd(model):
            def fwd(b):
                with torch.no_grad():
                    return model(b, training=False)
            return fwd
    else:
        import tensorflow as tf

        def sync():
            pass

        def mk_fwd(model):
            f = tf.function(lambda x: model(x, training=False))
            return lambda b: f(b).numpy()  # .numpy() waits for the result
    keras.utils.set_random_seed(0)
    px = 96 if quick else 224
    models = [(f"Keras MobileNetV2 {px} ({backend})",
               lambda: keras.applications.MobileNetV2(weights=None, input_shape=(px, px, 3)), px)]
    from saliency_widgets.demo.model import IMAGE_SIZE, load_model
    models.append((f"demo model {IMAGE_SIZE} px ({backend})", load_model, IMAGE_SIZE))
    sweeps = []  # block-size sweeps (JAX) after every model's main rows: the budget goes to those first
    for label, make, size in models:
        if budget.spent():
            log(f"{label}: skipped (budget spent)")
            rows.add(label, "every section", "skipped (budget)", key="model", skipped=True)
            continue
        try:
            model = make()
            img = np.random.default_rng(0).uniform(-1, 1, (size, size, 3)).astype(np.float32)
            if "demo" in label:
                img = (img + 1) / 2
            sweep = bench_model(label, model, img, sync, mk_fwd(model), cfg, budget, rows)
            if sweep is not None:
                sweeps.append(sweep)  # keeps the model alive until its sweep has run
        except Exception:
            traceback.print_exc()
        finally:
            model = None
            if backend != "jax":  # JAX frees arrays as they die; clear_caches only drops compiled code
                release_device_memory()
            else:
                import gc
                gc.collect()
    for sweep in sweeps[::-1]:  # the demo model's first: its blocks are the ones in question
        try:
            sweep()
        except Exception:
            traceback.print_exc()


def keras_backends():
    import importlib.util
    return [b for b, mod in (("jax", "jax"), ("tensorflow", "tensorflow"), ("torch", "torch"))
            if importlib.util.find_spec(mod) is not None]


def code_stamp(root=None):
    """sha256 of the code a run measures (the package's Python files and this script), first 16 hex digits.

    ``benchmarks/gpu/publish.py`` recomputes it on the checkout it publishes from and refuses figures
    measured on other code.
    """
    import hashlib
    root = root or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    files = [os.path.join("benchmarks", "bench_gpu.py")]
    for d, dirs, names in os.walk(os.path.join(root, "saliency_widgets")):
        dirs[:] = sorted(x for x in dirs if x != "__pycache__")
        files += [os.path.relpath(os.path.join(d, x), root) for x in names if x.endswith(".py")]
    h = hashlib.sha256()
    for rel in sorted(f.replace(os.sep, "/") for f in files):
        h.update(rel.encode() + b"\0")
        with open(os.path.join(root, rel), "rb") as f:
            h.update(f.read() + b"\0")
    return h.hexdigest()[:16]


def run_meta(args, cfg):
    import platform
    meta = dict(argv=sys.argv[1:], cfg=cfg, python=sys.version.split()[0], numpy=np.__version__,
                host=platform.node(), date_utc=time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
                code_stamp=code_stamp(), git_commit=os.environ.get("SW_GIT_COMMIT", ""),
                budget_s=args.budget_s)
    return meta


def framework_meta(meta):
    """Versions and device names of the frameworks this process has imported."""
    torch = sys.modules.get("torch")
    if torch is not None:
        meta["torch"] = torch.__version__
        meta["device"] = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    if "jax" in sys.modules:
        jax = sys.modules["jax"]
        meta["jax"] = jax.__version__
        meta["jax_devices"] = [str(d) for d in jax.devices()]
        meta.setdefault("device", getattr(jax.devices()[0], "device_kind", str(jax.devices()[0])))
    if "keras" in sys.modules:
        meta["keras"] = sys.modules["keras"].__version__


def run_keras_children(args, budget, rows):
    backends = args.keras_backends.split(",") if args.keras_backends else keras_backends()
    for b in backends:
        if budget.left() < 20:
            log(f"Keras on {b}: skipped (budget spent)")
            rows.add(f"Keras ({b})", "every section", "skipped (budget)", key="keras", skipped=True)
            continue
        # Beside the parent's JSON when there is one: a child cut off mid-run leaves its rows there.
        out = (f"{args.json[:-5] if args.json.endswith('.json') else args.json}.keras-{b}.json" if args.json
               else f"/tmp/bench_gpu_rows_{os.getpid()}_{b}.json")
        cmd = [sys.executable, os.path.abspath(__file__), "--only", "keras", "--rows-json", out,
               "--budget-s", str(int(budget.left())), "--repeats", str(args.repeats),
               "--blocks", args.blocks] + (["--quick"] if args.quick else [])
        env = dict(os.environ, KERAS_BACKEND=b, PYTHONUNBUFFERED="1")
        try:
            # One child at a time: run() returns once the child has exited and freed its GPU memory.
            # A section started just before the budget ends may run on: a minute's grace.
            proc = subprocess.run(cmd, env=env, timeout=max(10, budget.left() + 60), check=False)
            with open(out) as f:
                child = json.load(f)
            rows.meta.setdefault("children", {})[b] = dict(child["meta"], returncode=proc.returncode,
                                                           file=os.path.basename(out))
            rows.meta.setdefault("merged", []).append(b)
            rows.extend(child["rows"])
        except Exception as exc:
            traceback.print_exc()
            rows.add(f"Keras ({b})", "child process", f"error: {type(exc).__name__}", key="keras", error=repr(exc))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a CPU smoke run)")
    ap.add_argument("--budget-s", type=float, default=420.0, help="skip remaining sections after this")
    ap.add_argument("--out", default=None, help="write the markdown table here (default: stdout)")
    ap.add_argument("--json", default=None, help="write every row here as it is measured")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per measurement (the median is kept)")
    ap.add_argument("--blocks", default="1,2,4,8,16",
                    help="JAX batches per compiled call to measure (comma-separated; empty: none)")
    ap.add_argument("--only", choices=["torch", "keras"], default=None)
    ap.add_argument("--keras-backends", default=None, help="comma-separated; default: every installed one")
    ap.add_argument("--rows-json", default=None, help=argparse.SUPPRESS)  # child -> parent
    args = ap.parse_args(argv)
    cfg = sizes(args.quick)
    cfg["repeats"] = args.repeats
    cfg["blocks"] = [int(b) for b in args.blocks.split(",") if b.strip()]
    budget = Budget(args.budget_s)
    child = args.rows_json is not None  # a Keras child of this script (--only keras alone: a parent)
    rows = Rows(args.rows_json if child else args.json, run_meta(args, cfg))
    log(f"bench_gpu: {json.dumps(cfg)}; budget {args.budget_s:.0f} s; Python {sys.version.split()[0]}; "
        f"code stamp {rows.meta['code_stamp']}")

    if child:  # child process: one Keras backend
        try:
            run_keras_child(cfg, budget, rows, args.quick)
        except Exception as exc:
            traceback.print_exc()
            rows.add("Keras", "child", f"error: {type(exc).__name__}", key="keras", error=repr(exc))
        framework_meta(rows.meta)
        rows.meta["done"] = True
        rows.save()
        return

    import importlib.util
    if args.only is None:
        try:
            same_map_check(rows)
        except Exception:
            traceback.print_exc()
        release_device_memory()
    if args.only in (None, "torch") and importlib.util.find_spec("torch") is not None:
        try:
            run_torch(cfg, budget, rows)
        except Exception:
            traceback.print_exc()
        release_device_memory()  # the Keras children need the GPU memory this process cached
    framework_meta(rows.meta)
    rows.save()
    if args.only in (None, "keras") and importlib.util.find_spec("keras") is not None:
        run_keras_children(args, budget, rows)
    rows.meta["done"] = True
    rows.meta["wall_s"] = time.perf_counter() - T0
    rows.save()
    table = rows.table()
    if args.out:
        with open(args.out, "w") as f:
            f.write(table)
        log(f"table written to {args.out}")
    log(table)


if __name__ == "__main__":
    main()
