"""Export and synthesis throughput, measured in one process, ratios within the run.

    python benchmarks/export_synthesis.py [--config=experiments/benchmark.py] [--batch=16]
        [--videos=128] [--repeats=7] [--json=benchmarks/results/export_synthesis.json]

1. In-process Keras generator (tf.function: z -> uint8 video) vs the exported SavedModel's
   `generate` (seeds -> latents -> uint8 video) on the same batch size: videos/s, median of
   interleaved repeats. Goal: SavedModel >= 95 % of Keras.
2. synthesis (generate + mp4 H.264 encoding + file writes, with the model loaded once, as
   a `vidgan synthesize` run does) vs `generate` alone over the same number of videos.
   Goal: >= 85 %. The one-off model load time is reported separately.
The generator is freshly initialized (throughput does not depend on training).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import tempfile
import time

import vidgan  # noqa: E402,F401  (before TensorFlow: it switches oneDNN's kernels on)
import tensorflow as tf

from vidgan import config as config_lib
from vidgan import export
from vidgan import pixels
from vidgan import synthesis
from vidgan.training import Trainer
from vidgan.training import workdir as workdir_lib


def _load_config(path: str) -> config_lib.Config:
    spec = importlib.util.spec_from_file_location("experiment", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return config_lib.from_dict(module.get_config())


def _rate(fn, videos: int) -> float:
    start = time.perf_counter()
    fn()
    return videos / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=os.path.join(
        os.path.dirname(__file__), "..", "experiments", "benchmark.py"))
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--videos", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    config = _load_config(args.config)
    root = tempfile.mkdtemp(prefix="vidgan-bench-")
    workdir, export_dir = os.path.join(root, "run"), os.path.join(root, "export")
    trainer = Trainer(config, workdir, tf.distribute.OneDeviceStrategy("/cpu:0"))
    trainer.manager.save(checkpoint_number=0)
    workdir_lib.write_config(workdir, config, "OneDeviceStrategy", 1)
    model_path = export.export(workdir, export_dir)

    # 1. Keras in process vs SavedModel, same batch, interleaved.
    generator = trainer.ema_generator
    z = tf.random.normal([args.batch, generator.z_dim])
    keras_fn = tf.function(lambda z: pixels.to_uint8(generator(z, training=False)))
    loaded = tf.saved_model.load(model_path)
    generate = loaded.signatures["generate"]
    seeds = tf.range(args.batch, dtype=tf.int64)
    for _ in range(2):  # warm-up (tracing, oneDNN primitive caches)
        keras_fn(z).numpy()
        generate(seed=seeds)["video"].numpy()
    keras_rates, saved_rates = [], []
    for _ in range(args.repeats):
        keras_rates.append(_rate(lambda: keras_fn(z).numpy(), args.batch))
        saved_rates.append(_rate(lambda: generate(seed=seeds)["video"].numpy(), args.batch))
    keras_rate, saved_rate = statistics.median(keras_rates), statistics.median(saved_rates)

    # 2. generate alone over N videos vs synthesize to mp4 (encoding included).
    def generate_all():
        for start in range(0, args.videos, args.batch):
            batch = tf.range(start, min(start + args.batch, args.videos), dtype=tf.int64)
            generate(seed=batch)["video"].numpy()

    start = time.perf_counter()
    synthesizer = synthesis.Synthesizer(model_path)  # the CLI loads once per run, too
    load_seconds = time.perf_counter() - start
    generate_rates, synth_rates = [], []
    for repeat in range(3):
        generate_rates.append(_rate(generate_all, args.videos))
        out_dir = os.path.join(root, f"videos{repeat}")
        request = synthesis.SynthesisRequest(model_path, out_dir, args.videos,
                                             batch_size=args.batch, format="mp4")
        synth_rates.append(_rate(lambda: synthesizer.run(request, progress=False),
                                 args.videos))
    generate_rate, synth_rate = statistics.median(generate_rates), statistics.median(synth_rates)

    d = config.data
    report = {
        "shape": [args.batch, d.num_frames, d.height, d.width, 3],
        "threads": {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                    "cpus": os.cpu_count()},
        "keras_videos_per_s": keras_rate,
        "savedmodel_videos_per_s": saved_rate,
        "savedmodel_vs_keras": saved_rate / keras_rate,
        "generate_videos_per_s": generate_rate,
        "synthesize_mp4_videos_per_s": synth_rate,
        "synthesize_vs_generate": synth_rate / generate_rate,
        "savedmodel_load_seconds": load_seconds,
        "raw": {"keras": keras_rates, "savedmodel": saved_rates,
                "generate": generate_rates, "synthesize": synth_rates},
    }
    print(f"| measure ({args.batch}x{d.num_frames}x{d.height}x{d.width}) | videos/s | ratio |")
    print("| --- | --- | --- |")
    print(f"| Keras generator in process | {keras_rate:.1f} | |")
    print(f"| SavedModel `generate` | {saved_rate:.1f} | {saved_rate / keras_rate:.1%} of Keras |")
    print(f"| `generate` alone, {args.videos} videos | {generate_rate:.1f} | |")
    print(f"| `synthesize` to mp4 (H.264), {args.videos} videos | {synth_rate:.1f} | "
          f"{synth_rate / generate_rate:.1%} of generate |")
    print(f"| SavedModel load (once per synthesize run) | {load_seconds:.2f} s | |")
    if args.json:
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
