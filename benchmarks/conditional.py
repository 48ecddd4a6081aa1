"""Does a class-conditional model make the class it is asked for? Moving digits by class.

    python benchmarks/conditional.py [--budget_minutes=9.5] [--videos_per_class=32]
        [--measure_every=STEPS] [--override 'FIELD=JSON' ...]
        [--json=benchmarks/results/conditional_digits.json]
    python benchmarks/conditional.py --tiny     # seconds: what the test runs

1. Trains experiments/moving_digits.py:labels (the quickstart's resnet3d and training on
   one moving digit per clip, the digit as the label) from scratch for the budget.
2. Trains a digit classifier (a small CNN) on single frames of the same labelled real
   stream (clips 10^6.. onward: never the ones the GAN trained on first), and reports its
   accuracy on held-out real frames: the judge must be right on real data first.
3. Generates `videos_per_class` videos of every digit (export's seeds 0.., label = the
   digit) and classifies every frame: the share of frames recognised as the asked digit,
   overall and per digit, and what each digit's frames are read as (a confusion table).
   The untrained generator's share is the chance baseline; the trained generator is
   judged as exported (EMA weights) and as trained (raw weights);
   --measure_every also measures it during training (a curve: is the share still rising?).
4. Asks D which class each clip is (the label that gives its highest logit), on real clips
   and on generated ones: does D's projection tell the digits apart?
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from overrides import add_override_flag, parse_overrides  # noqa: E402
from vidgan import runtime  # noqa: E402

runtime.keep_freed_memory()  # as the `vidgan` command does

from absl import logging  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from vidgan import config as config_lib  # noqa: E402
from vidgan import data as data_lib  # noqa: E402
from vidgan.models import sampling  # noqa: E402
from vidgan.training import Trainer  # noqa: E402
from vidgan.training.loop import Action, TrainingLoop  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLASSIFIER_START = 10**6  # first clip index of the classifier's real frames


def load_config(tiny: bool, budget: float, overrides: dict | None = None) -> config_lib.Config:
    """experiments/moving_digits.py:labels (or :labels_tiny) for the budget, with
    `overrides` ({"dotted.field": value}) applied."""
    raw = config_lib.load_experiment(os.path.join(REPO, "experiments", "moving_digits.py"),
                                     "labels_tiny" if tiny else "labels")
    raw.train.sample_every = raw.train.checkpoint_every = 10**9
    raw.train.time_budget_minutes = 0.0 if tiny else budget
    if not tiny:
        raw.train.steps = 10**9  # the budget ends the run
    return config_lib.override(config_lib.from_dict(raw), overrides or {})


def real_frames(data: config_lib.DataConfig, clips: int, start: int):
    """One random frame of each of `clips` labelled clips: ([N, H, W, 1] in [0, 1], [N])."""
    batch = next(iter(data_lib.make_dataset(data, clips, start_index=start)))
    video = (batch["video"].numpy()[..., :1] + 1.0) / 2.0  # gray: [N, T, H, W, 1]
    pick = np.random.default_rng(start).integers(0, video.shape[1], len(video))
    return video[np.arange(len(video)), pick], batch["label"].numpy()


def train_classifier(data, tiny: bool) -> tuple[keras.Model, float]:
    """A small CNN on real frames; returns it and its accuracy on held-out real frames."""
    n_train, n_test = (256, 64) if tiny else (8000, 1000)
    x, y = real_frames(data, n_train, CLASSIFIER_START)
    x_test, y_test = real_frames(data, n_test, CLASSIFIER_START + n_train)
    h, w = x.shape[1:3]
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((h, w, 1)),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
        keras.layers.GlobalMaxPooling2D(),  # position-free: digits move
        keras.layers.Dense(10),
    ])
    model.compile(keras.optimizers.Adam(1e-3),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=64, epochs=1 if tiny else 6, verbose=0)
    accuracy = float(np.mean(np.argmax(model.predict(x_test, verbose=0), -1) == y_test))
    return model, accuracy


def recognised(trainer: Trainer, classifier: keras.Model, per_class: int,
               raw: bool = False) -> dict:
    """Share of generated frames the classifier reads as the asked digit (EMA generator,
    or with `raw` the trained generator itself; export's seeds 0..per_class-1 for every
    digit)."""
    k = trainer.generator.num_classes
    seeds = tf.tile(tf.range(per_class, dtype=tf.int64), [k])
    inputs = sampling.draw_noise(trainer.input_specs, sampling.seed_pairs_for_seeds(seeds))
    inputs["label"] = tf.repeat(tf.range(k, dtype=tf.int32), per_class)
    make = ((lambda x: trainer.generator(x, training=False).numpy()) if raw
            else trainer.sample)
    videos = np.concatenate([make({n: v[i:i + 64] for n, v in inputs.items()})
                             for i in range(0, k * per_class, 64)])
    frames = (videos[..., :1] + 1.0) / 2.0  # [N, T, H, W, 1]
    n, t = frames.shape[:2]
    predicted = np.argmax(classifier.predict(frames.reshape(n * t, *frames.shape[2:]),
                                             verbose=0), -1).reshape(n, t)
    asked = inputs["label"].numpy()[:, None]
    hits = predicted == asked
    names = trainer.config.data.class_names
    return {"recognised": float(hits.mean()),
            "per_class": {names[c]: float(hits[asked[:, 0] == c].mean()) for c in range(k)},
            "confusion": confusion(predicted, asked[:, 0], names)}


def confusion(predicted: np.ndarray, asked: np.ndarray, names) -> dict:
    """{asked class: {class its frames are read as: share}} over every frame (the shares
    of one asked class sum to 1; classes never read are left out)."""
    out = {}
    for c, name in enumerate(names):
        read = predicted[asked == c].ravel()
        counts = np.bincount(read, minlength=len(names))
        out[name] = {names[j]: round(float(n) / max(1, read.size), 4)
                     for j, n in enumerate(counts) if n}
    return out


def discriminator_reads(trainer: Trainer, data, clips: int = 256) -> dict:
    """Which class D's projection favours: for each clip, the label that gives D's highest
    (head-weighted) logit. On real clips of another block of the stream, this is how well
    D tells the digits apart; on the generated clips of `recognised`, whether D still
    reads them as asked. A D that cannot separate real digits gives G no class signal;
    one that reads fakes as asked while the classifier does not, a G that fools it."""
    k, weights = trainer.generator.num_classes, trainer.discriminator.head_weights
    batch = next(iter(data_lib.make_dataset(data, clips, start_index=CLASSIFIER_START // 2)))
    seeds = tf.range(clips, dtype=tf.int64)
    inputs = sampling.draw_noise(trainer.input_specs, sampling.seed_pairs_for_seeds(seeds))
    inputs["label"] = tf.range(clips, dtype=tf.int32) % k
    fake = np.concatenate([trainer.sample({n: v[i:i + 64] for n, v in inputs.items()})
                           for i in range(0, clips, 64)])

    def favoured(videos: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(the label of D's highest logit [N], the class head's argmax [N] or None)."""
        scores, classes = [], None
        for c in range(k):  # D's logits with every clip labelled c: [N]
            heads = trainer.discriminator(
                {"video": tf.constant(videos), "label": tf.fill([len(videos)], c)},
                training=False)
            scores.append(sum(w * heads[h].numpy() for h, w in weights.items()))
            if c == 0 and "class" in heads:  # AC-GAN's head does not look at the label
                classes = np.argmax(heads["class"].numpy(), axis=1)
        return np.argmax(np.stack(scores, axis=1), axis=1), classes

    real_labels, asked = batch["label"].numpy(), inputs["label"].numpy()
    (real_proj, real_head), (fake_proj, fake_head) = (favoured(batch["video"].numpy()),
                                                      favoured(fake))
    out = {"real_read_as_labelled": float(np.mean(real_proj == real_labels)),
           "generated_read_as_asked": float(np.mean(fake_proj == asked)), "clips": clips}
    if real_head is not None:
        out["class_head"] = {"real_read_as_labelled": float(np.mean(real_head == real_labels)),
                             "generated_read_as_asked": float(np.mean(fake_head == asked))}
    return out


class RecognitionAction(Action):
    """The share of frames recognised as the asked digit, every `every` steps."""

    def __init__(self, trainer: Trainer, classifier: keras.Model, per_class: int,
                 every: int):
        self.trainer, self.classifier, self.per_class = trainer, classifier, per_class
        self.every, self.curve = every, []

    def __call__(self, step: int, values: dict[str, float]) -> None:
        share = recognised(self.trainer, self.classifier, self.per_class)["recognised"]
        self.curve.append({"step": step, "recognised": round(share, 4)})
        print(f"step {step}: {share:.1%} of frames recognised as the asked digit", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget_minutes", type=float, default=9.5)
    parser.add_argument("--videos_per_class", type=int, default=32)
    parser.add_argument("--measure_every", type=int, default=0,
                        help="> 0: also measure the share every this many steps")
    parser.add_argument("--tiny", action="store_true")
    add_override_flag(parser, "config override, FIELD=JSON_VALUE (repeatable)")
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    # The training loop's progress lines (step, losses, steps/s, ETA) during long runs.
    logging.set_verbosity(logging.INFO)
    overrides = parse_overrides(args.override)
    config = load_config(args.tiny, args.budget_minutes, overrides)
    per_class = 2 if args.tiny else args.videos_per_class
    started = time.perf_counter()
    classifier, real_accuracy = train_classifier(config.data, args.tiny)
    classifier_seconds = time.perf_counter() - started
    print(f"digit classifier: {real_accuracy:.3f} on held-out real frames "
          f"({classifier_seconds:.0f} s)", flush=True)
    with tempfile.TemporaryDirectory(prefix="conditional-") as workdir:
        trainer = Trainer(config, workdir)
        untrained = recognised(trainer, classifier, per_class)
        during = ([RecognitionAction(trainer, classifier, per_class, args.measure_every)]
                  if args.measure_every > 0 else [])
        start = time.perf_counter()
        steps = TrainingLoop(trainer, extra_actions=tuple(during)).run()
        train_seconds = time.perf_counter() - start
        trained = recognised(trainer, classifier, per_class)
        # The raw generator too: does the EMA (averaged weights, the raw batch-norm
        # statistics) blend class mappings that moved during training?
        trained_raw = recognised(trainer, classifier, per_class, raw=True)
        reads = discriminator_reads(trainer, config.data, 16 if args.tiny else 256)
        print(f"D's projection: real clips read as labelled {reads['real_read_as_labelled']:.1%}"
              f", generated clips read as asked {reads['generated_read_as_asked']:.1%}"
              + (f"; its class head: {reads['class_head']}" if "class_head" in reads else ""),
              flush=True)
    record = {"experiment": "moving_digits.py:labels" + ("_tiny" if args.tiny else ""),
              "overrides": overrides,
              "steps": steps, "train_seconds": round(train_seconds, 1),
              "precision": trainer.precision,
              "classifier_real_accuracy": real_accuracy,
              "videos_per_class": per_class, "frames_per_video": config.data.num_frames,
              "untrained": untrained, "trained": trained, "trained_raw_generator": trained_raw,
              "discriminator_reads": reads,
              "during_training": during[0].curve if during else [],
              "machine": {"cpus": os.cpu_count(), "tensorflow": tf.__version__}}
    print(json.dumps(record), flush=True)
    if args.json:
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(record, f, indent=2)


if __name__ == "__main__":
    main()
