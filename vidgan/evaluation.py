"""FVD and KVD of a generator against real clips, with the protocol stated and real features cached.

    result = evaluate(source_from_workdir("runs/x"), data_config, Protocol(num_clips=2048))

The protocol (printed with every result): `num_clips` real clips from the data config
(clips (seed + run) * num_clips + 0..num_clips-1 of its stream, from the protocol's split;
the data's own seed, which also fixes the split by video, so `test` is the training run's
test split; clip length, stride, offsets and resize as configured, at the generator's
T x H x W) and `num_clips` generated ones (export's latent rule on seeds
(seed + run) * num_clips + 0..num_clips-1), the first `num_frames` frames of each, both as
uint8, resized to 224 x 224 and scaled to [-1, 1] as the reference FVD does; features are
the 400 Kinetics logits of I3D (vidgan.models.i3d). Run r (of `num_runs`) uses the next
block of real clips and of generator seeds, so mean +- std covers both samples.

Real features are cached under <cache>/fvd_real/, keyed by the data config, its files (names,
sizes, mtimes), the protocol and the I3D weights: a changed config or dataset computes them again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from typing import Callable

import numpy as np
import tensorflow as tf
import tqdm

from vidgan import config as config_lib
from vidgan import data as data_lib
from vidgan import files
from vidgan import pixels
from vidgan.config import DataConfig
from vidgan.metrics import fvd as fvd_lib
from vidgan.models import i3d

CACHE_VERSION = 1  # bump when the feature computation changes


class EvaluationError(ValueError):
    """The evaluation cannot run as asked (one-line reason)."""


@dataclasses.dataclass(frozen=True)
class Protocol:
    num_clips: int = 2048  # real and generated clips, each
    num_frames: int = 16  # the first frames of each clip fed to I3D (FVD16)
    split: str = "train"  # real clips from this split of the data ("train" | "test" | "all")
    seed: int = 0  # real clips and generated seeds start at seed * num_clips
    batch_size: int = 16  # clips per I3D batch

    def validate(self) -> None:
        if self.num_clips < 2:
            raise EvaluationError(f"num_clips must be >= 2 (FVD needs a covariance), "
                                  f"got {self.num_clips}")
        if self.num_frames < i3d.MIN_FRAMES:
            raise EvaluationError(f"num_frames must be >= {i3d.MIN_FRAMES} (I3D's time "
                                  f"pooling), got {self.num_frames}")
        if self.split not in ("train", "test", "all"):
            raise EvaluationError(f"split must be train, test or all, got {self.split!r}")
        if not 0 <= self.seed < 2**31 or self.batch_size < 1:
            raise EvaluationError("seed must be in [0, 2**31) and batch_size >= 1")


@dataclasses.dataclass(frozen=True)
class Source:
    """Generated videos: `generate(seeds int64 [N], labels int32 [N] | None) -> uint8
    [N, T, H, W, 3]` (labels: class-conditional sources only) and what made them."""

    generate: Callable[..., np.ndarray]
    config: config_lib.Config  # the training config (data section: the real data by default)
    description: str  # e.g. "runs/x step 800 (EMA)"

    @property
    def class_names(self) -> tuple[str, ...]:
        """The classes of a class-conditional source; () otherwise."""
        return self.config.data.class_names if self.config.data.labels else ()


def source_from_workdir(workdir: str, step: int | None = None, ema: bool = True) -> Source:
    from vidgan.training import workdir as workdir_lib  # noqa: PLC0415

    try:
        generator, config, step = workdir_lib.load_generator(workdir, step, ema)
    except workdir_lib.RunError as e:
        raise EvaluationError(str(e)) from None
    return source_from_generator(generator, config,
                                 f"{workdir} step {step} ({'EMA' if ema else 'raw'} generator)",
                                 step=step, ema=ema)


def source_from_generator(generator, config: config_lib.Config, description: str,
                          step: int = 0, ema: bool = True,
                          window: tuple[int, int] | None = None) -> Source:
    """A Keras generator behind export's latent rule: the videos of seed s are those the
    exported model gives for s, so a run and its export evaluate identically.
    `window` (n, first), any-length families: the T frames from `first` of each seed's
    n-frame render (generate_frames), to measure drift over a long render."""
    from vidgan import export  # noqa: PLC0415

    module = export.GeneratorModule(generator, export.build_metadata(config, step, ema))
    if window is not None:
        n, first = window
        if not generator.any_length or not 0 <= first <= n - config.data.num_frames:
            raise EvaluationError(f"window {window}: needs an any-length family and "
                                  f"0 <= first <= n - {config.data.num_frames}")

    def generate(seeds: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        extra = {} if labels is None else {"label": tf.constant(labels, tf.int32)}
        seeds = tf.constant(seeds, tf.int64)
        if window is None:
            return module.generate(seeds, **extra)["video"].numpy()
        video = module.generate_frames(seeds, tf.constant(n, tf.int32), **extra)["video"]
        return video[:, first:first + config.data.num_frames].numpy()

    generate.module = module  # keeps the tf.Module alive while the function is used
    return Source(generate, config, description)


def source_from_saved_model(model_dir: str) -> Source:
    from vidgan import synthesis  # noqa: PLC0415

    try:
        module, metadata, path = synthesis.load_model(model_dir)
        config = config_lib.from_dict(metadata["config"])
        # Real clips at the model's OUTPUT size (after any super-resolution baked in).
        config = dataclasses.replace(config, data=dataclasses.replace(
            config.data, height=metadata["height"], width=metadata["width"]))
    except (synthesis.SynthesisError, config_lib.ConfigError, KeyError) as e:
        raise EvaluationError(str(e)) from None
    signature = module.signatures["generate_truncated"]

    def generate(seeds: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        extra = {} if labels is None else {"label": tf.constant(labels, tf.int32)}
        out = signature(seed=tf.constant(seeds, tf.int64), truncation=tf.constant(1.0),
                        **extra)
        return out["video"].numpy()

    generate.module = module
    return Source(generate, config, f"SavedModel {path} (step {metadata.get('step')})")


class FeatureExtractor:
    """I3D logits of uint8 videos [N, T, H, W, 3] -> float32 [N, 400], in batches."""

    def __init__(self, weights: str | None = None):
        self.weights = weights or i3d.default_weights_path()
        self.model = i3d.load_i3d(self.weights)
        record = os.path.splitext(self.weights)[0] + ".json"
        try:  # the checksum fetch-i3d recorded (hashing 50 MB again costs 0.1 s otherwise)
            with open(record) as f:
                self.weights_sha256 = json.load(f)["npz_sha256"]
        except (OSError, ValueError, KeyError):
            self.weights_sha256 = i3d.file_sha256(self.weights)
        self._logits = tf.function(
            lambda v: self.model(fvd_lib.preprocess(v), training=False),
            input_signature=[tf.TensorSpec([None, None, None, None, 3], tf.uint8)],
            autograph=False)

    def __call__(self, videos: np.ndarray) -> np.ndarray:
        return self._logits(tf.convert_to_tensor(videos, tf.uint8)).numpy()


def real_data_config(data: DataConfig, protocol: Protocol,
                     shape: tuple[int, int, int]) -> DataConfig:
    """The data config real clips come from: the split of the protocol, no flips, the
    generator's T x H x W (real and generated clips are compared at one resolution). The
    data's seed is kept: it fixes the split by video (see vidgan.data.sources.is_test)."""
    t, h, w = shape
    resize = "center_crop" if data.resize == "random_crop" else data.resize
    return dataclasses.replace(data, num_frames=t, height=h, width=w, split=protocol.split,
                               flip=False, resize=resize)


def _cache_path(key: dict) -> str:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    return os.path.join(i3d.cache_dir(), "fvd_real", f"{digest[:32]}.npz")


def real_features(data: DataConfig, protocol: Protocol, extractor: FeatureExtractor,
                  cache: bool = True, progress: bool = True, run: int = 0
                  ) -> tuple[np.ndarray, str | None, bool]:
    """I3D features [num_clips, 400] of real clips (seed + run) * num_clips + i of `data`
    (already the real config, see real_data_config);
    -> (features, cache file or None, read from the cache?)."""
    features, _, path, cached = labelled_real_features(data, protocol, extractor, cache,
                                                       progress, run)
    return features, path, cached


def labelled_real_features(data: DataConfig, protocol: Protocol, extractor: FeatureExtractor,
                           cache: bool = True, progress: bool = True, run: int = 0,
                           label: int | None = None
                           ) -> tuple[np.ndarray, np.ndarray | None, str | None, bool]:
    """As real_features, with the clips' labels int32 [num_clips] (None unless
    data.labels); with `label`, only the clips of that class (the stream's first
    num_clips of it, after skipping (seed + run) * num_clips of them).
    -> (features, labels, cache file or None, read from the cache?)."""
    start = (protocol.seed + run) * protocol.num_clips
    key = {"version": CACHE_VERSION, "data": dataclasses.asdict(data), "start": start,
           "files": data_lib.fingerprint(data), "num_clips": protocol.num_clips,
           "num_frames": protocol.num_frames, "size": fvd_lib.I3D_SIZE,
           "weights": extractor.weights_sha256}
    if label is not None:
        key["class"] = label
    key = json.loads(json.dumps(key))  # as stored: tuples (data.class_names) become lists
    path = _cache_path(key)
    if cache and os.path.exists(path):
        try:
            with np.load(path, allow_pickle=False) as stored:
                if json.loads(str(stored["key"])) == key:
                    labels = stored["labels"] if data.labels else None
                    return stored["features"], labels, path, True
        except (OSError, ValueError, KeyError):
            pass  # unreadable or another key: compute again
    if label is None:
        ds = data_lib.make_dataset(data, protocol.batch_size, start_index=start)
    else:  # one class: filter single clips, then skip and batch within the class
        ds = data_lib.make_dataset(data, 1).unbatch().filter(lambda e: e["label"] == label)
        ds = ds.skip(start).batch(protocol.batch_size)
    batches = iter(ds)
    labels: list[np.ndarray] = []

    def next_batch() -> np.ndarray:
        batch = next(batches)
        if data.labels:
            labels.append(batch["label"].numpy())
        return pixels.to_uint8(batch["video"]).numpy()

    what = "real clips" if label is None else f"real clips of class {label}"
    features = _collect(next_batch, protocol, extractor, what, progress)
    clip_labels = (np.concatenate(labels)[:protocol.num_clips].astype(np.int32)
                   if data.labels else None)
    if not cache:
        return features, clip_labels, None, False
    os.makedirs(os.path.dirname(path), exist_ok=True)
    extra = {"labels": clip_labels} if data.labels else {}
    with files.staged(path, ".npz") as temp:
        np.savez(temp, features=features, key=json.dumps(key, sort_keys=True), **extra)
    return features, clip_labels, path, False


def generated_features(source: Source, protocol: Protocol, extractor: FeatureExtractor,
                       run: int = 0, progress: bool = True,
                       labels: np.ndarray | None = None) -> np.ndarray:
    """I3D features [num_clips, 400] of the videos of seeds (seed + run) * num_clips + i;
    a class-conditional source needs `labels` int32 [num_clips] (video i gets labels[i])."""
    if bool(source.class_names) != (labels is not None):
        raise EvaluationError("a class-conditional generator needs a label per video, an "
                              "unconditional one takes none")
    first = (protocol.seed + run) * protocol.num_clips
    end = first + protocol.num_clips
    starts = iter(range(first, end, protocol.batch_size))

    def next_batch() -> np.ndarray:
        start = next(starts)
        seeds = np.arange(start, min(start + protocol.batch_size, end))
        if labels is None:
            return source.generate(seeds)
        return source.generate(seeds, labels[seeds - first])

    return _collect(next_batch, protocol, extractor, "generated clips", progress)


def _collect(next_batch: Callable[[], np.ndarray], protocol: Protocol,
             extractor: FeatureExtractor, what: str, progress: bool) -> np.ndarray:
    out: list[np.ndarray] = []
    done = 0
    with tqdm.tqdm(total=protocol.num_clips, desc=f"I3D {what}", unit="clip",
                   disable=not progress, leave=False) as bar:
        while done < protocol.num_clips:
            videos = next_batch()[:protocol.num_clips - done, :protocol.num_frames]
            out.append(extractor(videos))
            done += len(videos)
            bar.update(len(videos))
    return np.concatenate(out)


def describe(protocol: Protocol, data: DataConfig, source: Source) -> dict:
    """The protocol as a record: everything that makes two FVD numbers comparable."""
    d = source.config.data
    stride = (f"target {data.target_fps:g} fps" if data.target_fps > 0
              else f"stride {data.frame_stride}")
    return {
        "metric": f"FVD{protocol.num_frames} / KVD{protocol.num_frames}",
        "clips": protocol.num_clips, "frames": protocol.num_frames, "frame_rule": stride,
        "resolution": f"{d.height}x{d.width} -> {fvd_lib.I3D_SIZE}x{fvd_lib.I3D_SIZE} "
                      "(bilinear, no half-pixel centers, as the reference FVD)",
        "real": f"{data.source} {data.path or ''}".strip() + f", split {protocol.split}, "
                f"clip offsets {data.clip_offsets}, {data.clips_per_video} per video, "
                f"resize {data.resize}",
        "seed": protocol.seed, "generated": source.description + (
            "; class-conditional: video i gets real clip i's label" if source.class_names
            else ""),
        "features": "I3D Kinetics-400 logits (pre-softmax, averaged over time)",
    }


def evaluate(source: Source, data: DataConfig | None = None, protocol: Protocol = Protocol(),
             num_runs: int = 1, weights: str | None = None, cache: bool = True,
             progress: bool = True, log: Callable[[str], None] = lambda _: None,
             per_class: bool = False, extractor: FeatureExtractor | None = None) -> dict:
    """FVD and KVD of `source` against `data` (default: its training data), `num_runs` times,
    with `extractor` (default: I3D from `weights`; anything uint8 videos -> [N, F] features).

    A class-conditional source makes video i with the label of real clip i (the classes
    as often as in the real data). `per_class`: also, per class c, num_clips real clips
    of c against num_clips videos made with label c.

    Returns {"fvd": [per run], "kvd": [...], "fvd_mean", "fvd_std", "kvd_mean", "kvd_std",
    "protocol": describe(...), "real_cache": [paths]} (+ "per_class": {class name:
    {"fvd": [per run], "kvd": [...], "fvd_mean", "kvd_mean"}}).
    """
    protocol.validate()
    if num_runs < 1:
        raise EvaluationError(f"num_runs must be >= 1, got {num_runs}")
    g = source.config.data
    names = source.class_names
    if per_class and not names:
        raise EvaluationError("per-class FVD needs a class-conditional generator "
                              "(trained with data.labels=true)")
    if names and data is not None and (not data.labels or data.class_names not in (
            (), names)):
        raise EvaluationError(f"the generator is class-conditional ({', '.join(names)}): "
                              "the real data must be labelled with the same classes "
                              "(data.labels=true)")
    if protocol.num_frames > g.num_frames:
        raise EvaluationError(
            f"the generator makes {g.num_frames}-frame videos; FVD{protocol.num_frames} needs "
            f"{protocol.num_frames} (set num_frames <= {g.num_frames}, at least "
            f"{i3d.MIN_FRAMES}; such numbers are not comparable with FVD16)")
    data = data or g
    extractor = extractor or FeatureExtractor(weights)
    shape = (g.num_frames, g.height, g.width)
    real_cfg = real_data_config(data, protocol, shape)
    fvds, kvds, caches = [], [], []
    classes: dict[str, dict[str, list[float]]] = {n: {"fvd": [], "kvd": []} for n in names}
    for run in range(num_runs):
        real, labels, path, cached = labelled_real_features(real_cfg, protocol, extractor,
                                                            cache, progress, run)
        log(f"run {run + 1}/{num_runs}: real features "
            + (f"read from the cache {path}" if cached else
               f"computed{f', cached in {path}' if path else ''}"))
        fake = generated_features(source, protocol, extractor, run, progress,
                                  labels if names else None)
        fvds.append(fvd_lib.fvd(real, fake))
        kvds.append(fvd_lib.kernel_distance(real, fake))
        caches.append(path)
        log(f"run {run + 1}/{num_runs}: FVD {fvds[-1]:.2f}  KVD {kvds[-1]:.4f}")
        for c, name in enumerate(names if per_class else ()):
            real_c, _, path_c, _ = labelled_real_features(real_cfg, protocol, extractor,
                                                          cache, progress, run, label=c)
            fake_c = generated_features(source, protocol, extractor, run, progress,
                                        np.full(protocol.num_clips, c, np.int32))
            classes[name]["fvd"].append(fvd_lib.fvd(real_c, fake_c))
            classes[name]["kvd"].append(fvd_lib.kernel_distance(real_c, fake_c))
            caches.append(path_c)
            log(f"run {run + 1}/{num_runs}: class {name}: FVD {classes[name]['fvd'][-1]:.2f}"
                f"  KVD {classes[name]['kvd'][-1]:.4f}")
    result = {"fvd": fvds, "kvd": kvds,
              "fvd_mean": float(np.mean(fvds)), "fvd_std": float(np.std(fvds)),
              "kvd_mean": float(np.mean(kvds)), "kvd_std": float(np.std(kvds)),
              "num_runs": num_runs, "protocol": describe(protocol, data, source),
              "real_cache": caches}
    if per_class:
        result["per_class"] = {name: {**v, "fvd_mean": float(np.mean(v["fvd"])),
                                      "kvd_mean": float(np.mean(v["kvd"]))}
                               for name, v in classes.items()}
    return result


class TrainingMonitor:
    """FVD/KVD of a training run's EMA generator every `train.fvd_every` steps.

    The real features (the first train.fvd_clips clips of the training data, the first
    min(16, T) frames) are computed once and cached; each call generates fvd_clips videos
    from seeds 0..fvd_clips-1 (the same every time, so the curve tracks the model alone).
    """

    def __init__(self, config: config_lib.Config, generator, weights: str | None = None,
                 extractor: FeatureExtractor | None = None):
        d, clips = config.data, config.train.fvd_clips
        self.protocol = Protocol(num_clips=clips, num_frames=min(16, d.num_frames),
                                 split=d.split, seed=0)
        self.protocol.validate()
        self.tags = (f"metrics/fvd{clips}", f"metrics/kvd{clips}")
        self.extractor = extractor or FeatureExtractor(weights)
        real_cfg = real_data_config(d, self.protocol, (d.num_frames, d.height, d.width))
        self.real, self.labels, self.cache_path, _ = labelled_real_features(
            real_cfg, self.protocol, self.extractor, progress=False)
        self.source = source_from_generator(generator, config, "training EMA generator")

    def __call__(self) -> dict[str, float]:
        fake = generated_features(self.source, self.protocol, self.extractor, progress=False,
                                  labels=self.labels)
        fvd_tag, kvd_tag = self.tags
        return {fvd_tag: fvd_lib.fvd(self.real, fake),
                kvd_tag: fvd_lib.kernel_distance(self.real, fake)}
