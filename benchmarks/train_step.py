"""Training speed against this machine's ceiling, fp32 and mixed bfloat16, in ONE run.

    python benchmarks/train_step.py [--family=dcgan3d|resnet3d] [--steps=5]
        [--sizes=8x32x32,16x32x32,16x64x64]
        [--malloc=keep|system]
        [--json=benchmarks/results/train_step.json] [--markdown=benchmarks/results/train_step.md]
    python benchmarks/train_step.py --tiny      # seconds: what the test runs

Everything in one process with the same threads, ratios taken within the run. malloc is
set up as the vidgan command does it (vidgan/runtime.py: freed memory is kept, not
returned to the OS); --malloc=system measures glibc's default for comparison.
(a) ceilings: conv3d (a 3x3x3 conv [8, 8, 32, 32, 256] -> 256, the shape class of the
    preset's middle stages) and matmul (4096 x 4096 x 4096), fp32 and bfloat16, median
    GFLOP/s of 5 runs after a warm-up.
(b) the benchmark preset (experiments/benchmark.py: 16x64x64, batch 16, n_critic 1; the
    model family of --family with its section's default widths) in float32 and mixed_bfloat16: median step time over --steps steps after
    2 warm-up steps, clips/s (real clips through D), achieved GFLOP/s and its share of the
    matching conv ceiling, timed again right after every step (the machine's speed drifts
    by several % over minutes; (a)'s start-of-run ceiling gives a second share). The step reads one fixed batch from memory (input cost is (e)).
    FLOPs per step are counted from the traced forward graphs of G and D: 2 x multiply-
    adds of every Conv3D, Conv2D, transposed conv (Conv3DBackpropInput) and MatMul at their static
    shapes. Rule: backward = 2 x forward (input and weight gradients). A D update runs G
    forward once and D forward + backward on the real and the fake batch: G + 6 D; a G
    update runs G and D forward and back: 3 G + 3 D. Per step: 4 G + 9 D (n_critic = 1),
    each the forward FLOPs of one global batch.
(c) peak RSS of this process (ru_maxrss) after (b).
(d) float32 step time at each of --sizes (T x H x W, batch 16, the preset's G/D widths),
    fitted as time = c * (T*H*W)^k by least squares on logs; k is reported.
(e) slots filled from the other benchmarks' results (benchmarks/results/*.json) when
    present: input pipeline, synthesis, FVD features.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import math
import os
import platform
import resource
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import vidgan  # noqa: E402,F401  (before TensorFlow: it switches oneDNN's kernels on)
import tensorflow as tf  # noqa: E402
from absl import logging  # noqa: E402

from timing import add_malloc_flag, apply_malloc_flag, median_seconds  # noqa: E402
from vidgan import config as config_lib  # noqa: E402
from vidgan import runtime  # noqa: E402
from vidgan.training import Trainer  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(REPO, "benchmarks", "results")


# --- timing -----------------------------------------------------------------------------
def conv_ceiling_fn(tiny: bool, dtype: tf.DType):
    """(run, flops): one big 3x3x3 conv3d in `dtype`, the shape class of the preset's
    middle stages."""
    conv_in, channels = ((2, 4, 8, 8, 16), 16) if tiny else ((8, 8, 32, 32, 256), 256)
    x = tf.cast(tf.random.normal(conv_in), dtype)
    w = tf.cast(tf.random.normal((3, 3, 3, conv_in[-1], channels)), dtype)
    conv = tf.function(lambda: tf.nn.conv3d(x, w, [1] * 5, "SAME"))
    flops = 2 * np.prod(conv_in[:-1]) * channels * 27 * conv_in[-1]
    return (lambda: conv().numpy()), float(flops)


def ceilings(tiny: bool) -> dict:
    """GFLOP/s of one big conv3d and one big matmul, fp32 and bfloat16."""
    n = 256 if tiny else 4096
    out = {}
    for dtype in (tf.float32, tf.bfloat16):
        conv, flops = conv_ceiling_fn(tiny, dtype)
        out[f"conv3d_{dtype.name}"] = flops / median_seconds(conv, 5) / 1e9
        a = tf.cast(tf.random.normal((n, n)), dtype)
        mm = tf.function(lambda a=a: tf.matmul(a, a))
        out[f"matmul_{dtype.name}"] = 2 * n**3 / median_seconds(lambda f=mm: f().numpy(), 5) / 1e9
    return out


# --- FLOPs ----------------------------------------------------------------------------------
def graph_flops(fn, *specs) -> int:
    """2 x multiply-adds of the Conv3D, Conv2D, Conv3DBackpropInputV2 and MatMul ops of
    fn's graph."""
    graph = tf.function(fn).get_concrete_function(*specs).graph
    total = 0
    for op in graph.get_operations():
        if op.type == "Conv3D":
            out = op.outputs[0].shape.as_list()
            kernel = op.inputs[1].shape.as_list()  # [kT, kH, kW, Cin, Cout]
            total += 2 * math.prod(out) * math.prod(kernel[:4])
        elif op.type == "Conv2D":  # context encoders
            out = op.outputs[0].shape.as_list()
            kernel = op.inputs[1].shape.as_list()  # [kH, kW, Cin, Cout]
            total += 2 * math.prod(out) * math.prod(kernel[:3])
        elif op.type == "Conv3DBackpropInputV2":  # a transposed conv's forward pass
            x = op.inputs[2].shape.as_list()  # the layer's input [B, T, H, W, Cin]
            kernel = op.inputs[1].shape.as_list()  # [kT, kH, kW, Cout, Cin]
            total += 2 * math.prod(x) * math.prod(kernel[:4])
        elif op.type == "MatMul":  # Dense layers
            a, b = op.inputs[0].shape.as_list(), op.inputs[1].shape.as_list()
            m, k = (a[1], a[0]) if op.get_attr("transpose_a") else (a[0], a[1])
            n = b[0] if op.get_attr("transpose_b") else b[1]
            total += 2 * m * k * n
    return total


def step_flops(trainer: Trainer) -> dict:
    c = trainer.config
    d, b = c.data, trainer.global_batch
    # Every input the generator declares (a latent, motion codes, labels, context frames).
    g_specs = {name: tf.TensorSpec([b, *spec.shape], spec.dtype)
               for name, spec in trainer.generator.input_specs().items()}
    v_spec = tf.TensorSpec([b, d.num_frames, d.height, d.width, 3], tf.float32)
    g = graph_flops(lambda inputs: trainer.generator(inputs, training=True), g_specs)
    dis = graph_flops(lambda v: trainer.discriminator(v, training=True), v_spec)
    critic = c.train.n_critic
    per_step = critic * (g + 6 * dis) + 3 * g + 3 * dis
    return {"g_forward": g, "d_forward": dis, "per_step": per_step,
            "rule": f"{critic} x (G + 6 D) + 3 G + 3 D forward FLOPs of a global batch"}


# --- training steps --------------------------------------------------------------------------
def load_preset(tiny: bool, family: str = "dcgan3d") -> config_lib.Config:
    """experiments/benchmark.py with `family` at its section's defaults."""
    spec = importlib.util.spec_from_file_location(
        "preset", os.path.join(REPO, "experiments", "benchmark.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    raw = module.get_config(None)
    raw.model.generator.name = family
    return config_lib.from_dict(config_lib.make_tiny(raw) if tiny else raw)


def time_steps(config: config_lib.Config, steps: int, workdir: str,
               ceiling: tuple | None = None) -> tuple[Trainer, dict]:
    """Median step time after 2 warm-up steps. With `ceiling` (conv_ceiling_fn's pair),
    the ceiling conv is also timed right after every step (median of 3 runs each): the
    machine's speed drifts over minutes, and a ratio of two numbers taken seconds apart
    does not drift with it."""
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    trainer = Trainer(config, workdir, strategy)
    batch = next(iter(trainer.dataset(0)))
    fixed = iter(strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensors(batch).repeat()))
    for _ in range(2):  # tracing, oneDNN primitive creation
        trainer.train_step(fixed)
    times, ceiling_gflops = [], []
    for _ in range(steps):
        start = time.perf_counter()
        trainer.train_step(fixed)
        times.append(time.perf_counter() - start)
        if ceiling:
            run_conv, flops = ceiling
            ceiling_gflops.append(flops / median_seconds(run_conv, 3) / 1e9)
    median = statistics.median(times)
    result = {"median_step_s": median, "step_times_s": times,
              "clips_per_sec": config.train.batch_size * config.train.n_critic / median}
    if ceiling:
        result["interleaved_conv_ceiling_gflops"] = ceiling_gflops
    return trainer, result


def with_size(config: config_lib.Config, size: str) -> config_lib.Config:
    t, h, w = (int(v) for v in size.split("x"))
    return dataclasses.replace(config, data=dataclasses.replace(
        config.data, num_frames=t, height=h, width=w))


def with_precision(config: config_lib.Config, precision: str) -> config_lib.Config:
    return dataclasses.replace(config, train=dataclasses.replace(
        config.train, precision=precision))


def other_results() -> dict:
    """(e): the headline numbers of the other benchmarks, if they have been run."""
    slots = {}
    wanted = {
        "input_pipeline.json": lambda r: {
            "decode_clips_per_sec": r["b_video_files"]["clips_per_sec"],
            "tfrecord_clips_per_sec": r["c_tfrecord"].get("clips_per_sec"),
            "input_wait_fraction": (r.get("d_input_bound") or {}).get("fraction")},
        "export_synthesis.json": lambda r: {k: v for k, v in r.items()
                                            if isinstance(v, (int, float))},
        "i3d_features.json": lambda r: {
            "i3d_clips_per_sec": r["b_i3d"]["clips_per_sec"],
            "i3d_fraction_of_conv_peak": r["b_i3d"]["fraction_of_conv_peak"],
            "fvd2048_estimated_minutes": r["c_fvd"]["estimated_seconds"] / 60},
    }
    for name, pick in wanted.items():
        path = os.path.join(RESULTS, name)
        try:
            with open(path) as f:
                slots[name[:-5]] = pick(json.load(f))
        except (OSError, ValueError, KeyError, TypeError) as e:
            slots[name[:-5]] = {"missing": f"{path}: {type(e).__name__}"}
    return slots


def run(args: argparse.Namespace) -> dict:
    results: dict = {
        "malloc": runtime.keep_freed_memory(),
        "cpus": os.cpu_count(), "loadavg_1min_at_start": os.getloadavg()[0],
        "versions": {"tensorflow": tf.__version__, "python": platform.python_version()},
        "threads": {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                    "inter_op": tf.config.threading.get_inter_op_parallelism_threads()},
    }
    results["a_ceilings_gflops"] = ceilings(args.tiny)
    print("(a)", {k: round(v) for k, v in results["a_ceilings_gflops"].items()}, flush=True)
    preset = load_preset(args.tiny, args.family)
    results["family"] = args.family
    results["b_preset"] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for precision in ("float32", "mixed_bfloat16"):
            dtype = tf.float32 if precision == "float32" else tf.bfloat16
            trainer, timing = time_steps(with_precision(preset, precision), args.steps,
                                         os.path.join(tmp, precision),
                                         conv_ceiling_fn(args.tiny, dtype))
            flops = step_flops(trainer)
            achieved = flops["per_step"] / timing["median_step_s"] / 1e9
            ceiling = statistics.median(timing["interleaved_conv_ceiling_gflops"])
            results["b_preset"][precision] = {
                **timing, "flops": flops, "achieved_gflops": achieved,
                "conv_ceiling_gflops": ceiling, "fraction_of_conv_ceiling": achieved / ceiling,
                "fraction_of_start_ceiling": achieved / results["a_ceilings_gflops"][
                    f"conv3d_{dtype.name}"]}
            print(f"(b) {precision}: {timing['median_step_s']:.2f} s/step, {achieved:.0f} "
                  f"GFLOP/s = {100 * achieved / ceiling:.0f} % of the conv ceiling timed "
                  f"between its steps ({ceiling:.0f})", flush=True)
            del trainer
        results["c_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        sizes = args.sizes.split(",")
        scaling = []
        for size in sizes:
            config = with_size(preset, size)
            _, timing = time_steps(config, max(2, args.steps // 2), os.path.join(tmp, size))
            t, h, w = (int(v) for v in size.split("x"))
            scaling.append({"size": size, "voxels": t * h * w,
                            "median_step_s": timing["median_step_s"]})
            print(f"(d) {size}: {timing['median_step_s']:.3f} s/step", flush=True)
    x = np.log([s["voxels"] for s in scaling])
    y = np.log([s["median_step_s"] for s in scaling])
    exponent, _ = np.polyfit(x, y, 1) if len(scaling) > 1 else (float("nan"), 0.0)
    results["d_scaling"] = {"points": scaling, "exponent": float(exponent)}
    results["e_other_benchmarks"] = other_results()
    results["loadavg_1min_at_end"] = os.getloadavg()[0]
    return results


def markdown(r: dict) -> str:
    a, b = r["a_ceilings_gflops"], r["b_preset"]
    rows = [f"family: {r.get('family', 'dcgan3d')}", "",
            "| measure | float32 | mixed bfloat16 | goal |", "| --- | --- | --- | --- |",
            f"| (a) conv3d ceiling, GFLOP/s | {a['conv3d_float32']:.0f} | "
            f"{a['conv3d_bfloat16']:.0f} | |",
            f"| (a) matmul ceiling, GFLOP/s | {a['matmul_float32']:.0f} | "
            f"{a['matmul_bfloat16']:.0f} | |"]
    f32, bf16 = b["float32"], b["mixed_bfloat16"]
    rows += [
        f"| (b) preset step, median s | {f32['median_step_s']:.2f} | "
        f"{bf16['median_step_s']:.2f} | |",
        f"| (b) clips/s | {f32['clips_per_sec']:.2f} | {bf16['clips_per_sec']:.2f} | |",
        f"| (b) model GFLOP per step ({f32['flops']['rule']}) | "
        f"{f32['flops']['per_step'] / 1e9:.0f} | {bf16['flops']['per_step'] / 1e9:.0f} | |",
        f"| (b) conv3d ceiling timed between the steps, median GFLOP/s | "
        f"{f32['conv_ceiling_gflops']:.0f} | {bf16['conv_ceiling_gflops']:.0f} | |",
        f"| (b) achieved GFLOP/s, share of that ceiling | {f32['achieved_gflops']:.0f} = "
        f"{100 * f32['fraction_of_conv_ceiling']:.0f} % | {bf16['achieved_gflops']:.0f} = "
        f"{100 * bf16['fraction_of_conv_ceiling']:.0f} % | >= 80 % / >= 60 % |",
        f"| (b) share of the (a) ceiling, timed at the start | "
        f"{100 * f32['fraction_of_start_ceiling']:.0f} % | "
        f"{100 * bf16['fraction_of_start_ceiling']:.0f} % | |",
        f"| (b) bfloat16 speed-up | | {f32['median_step_s'] / bf16['median_step_s']:.2f}x | "
        "about 2x |",
        f"| (c) peak RSS, MB | {r['c_peak_rss_mb']:.0f} | | |",
        f"| malloc | {r['malloc']} | | |",
        f"| (d) step time ~ (T*H*W)^k, k | {r['d_scaling']['exponent']:.2f} "
        f"({', '.join(p['size'] + ': ' + format(p['median_step_s'], '.2f') + ' s' for p in r['d_scaling']['points'])}) | | |",
    ]
    for name, values in r["e_other_benchmarks"].items():
        text = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                         for k, v in values.items())
        rows.append(f"| (e) {name} | {text} | | |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--family", default="dcgan3d",
                        help="model family of the preset (its section's defaults)")
    parser.add_argument("--sizes", default="8x32x32,16x32x32,16x64x64")
    parser.add_argument("--tiny", action="store_true",
                        help="tiny preset and ceilings, for the test (seconds)")
    add_malloc_flag(parser)
    parser.add_argument("--json", default=None)
    parser.add_argument("--markdown", default=None)
    args = parser.parse_args()
    apply_malloc_flag(args)
    if args.tiny and args.sizes == parser.get_default("sizes"):
        args.sizes = "4x16x16,8x16x16,8x32x32"
    logging.set_verbosity(logging.WARNING)
    results = run(args)
    table = markdown(results)
    print()
    print(table)
    for path, text in ((args.json, json.dumps(results, indent=2)), (args.markdown, table)):
        if path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            with open(path, "w") as f:
                f.write(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
