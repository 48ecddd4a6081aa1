"""Batch video synthesis from an export: a SavedModel (no vidgan model code needed) or a
LiteRT flatbuffer (`vidgan export --format=litert`, run on ai-edge-litert's interpreter).

    from vidgan.synthesis import SynthesisRequest, synthesize
    manifest = synthesize(SynthesisRequest("exports/gen", "out/", num_videos=100))

Seeds seed_start .. seed_start + num_videos - 1 become files `seed_<seed>.<ext>`; for a
class-conditional model, every requested class gets those seeds, in
`<class name>/seed_<seed>.<ext>` (`labels`: class indices, see `resolve_labels`). Runs are
resumable: files already written and readable are skipped, and SIGTERM / SIGINT stop it
after the batch in flight with every finished file kept (the summary's "stopped"). Encoding
runs in a thread pool while the model generates the next batch, so the generator does not
wait on file I/O.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import json
import os
import sys

from absl import logging
import tensorflow as tf
import tqdm

from vidgan import files
from vidgan import stopping
from vidgan.data import video_io
from vidgan.export import litert
from vidgan.export.common import ExportError

MANIFEST = "manifest.json"


class SynthesisError(ValueError):
    """A synthesis request that cannot run; the message says why in one line."""


@dataclasses.dataclass(frozen=True)
class SynthesisRequest:
    model_dir: str  # an export dir (highest version is used) or one version folder
    out_dir: str
    num_videos: int
    batch_size: int = 16
    format: str = "mp4"  # one of vidgan.data.video_io.FORMATS
    seed_start: int = 0
    fps: float | None = None  # None: the model's training fps
    truncation: float = 1.0
    overwrite: bool = False  # regenerate every file, and allow a different model/settings
    encode_workers: int = 2
    labels: tuple[int, ...] = ()  # class indices (class-conditional models only)
    num_frames: int | None = None  # None: the model's T; more: families with any_length

    def validate(self) -> None:
        if self.num_videos <= 0:
            raise SynthesisError(f"num_videos must be > 0, got {self.num_videos}")
        if self.batch_size <= 0:
            raise SynthesisError(f"batch_size must be > 0, got {self.batch_size}")
        if self.format not in video_io.FORMATS:
            raise SynthesisError(f"unknown format {self.format!r}; "
                                 f"use one of {', '.join(video_io.FORMATS)}")
        if self.seed_start < 0 or self.seed_start + self.num_videos > 2**63:
            raise SynthesisError("seeds must lie in [0, 2**63)")
        if self.fps is not None and not 0 < self.fps <= 1000:
            raise SynthesisError(f"fps must be in (0, 1000], got {self.fps}")
        if not 0 < self.truncation < float("inf"):
            raise SynthesisError(f"truncation must be > 0, got {self.truncation}")
        if self.encode_workers <= 0:
            raise SynthesisError(f"encode_workers must be > 0, got {self.encode_workers}")
        if len(set(self.labels)) != len(self.labels):
            raise SynthesisError(f"labels repeat a class: {list(self.labels)}")
        if self.num_frames is not None and self.num_frames <= 0:
            raise SynthesisError(f"num_frames must be > 0, got {self.num_frames}")


def resolve_labels(metadata: dict, labels: str = "", label_names: str = "") -> tuple[int, ...]:
    """Class indices from "3,7" (`labels`; "all" = every class) or "circle,square"
    (`label_names`), checked against the model's metadata. Unconditional models take
    neither; conditional ones need one of them."""
    names = list(metadata.get("class_names", []))
    if not metadata.get("conditional"):
        if labels or label_names:
            raise SynthesisError("this model is not class-conditional: it takes no "
                                 "--labels / --label_names")
        return ()
    if bool(labels) == bool(label_names):
        raise SynthesisError(f"this model is class-conditional: pass --labels=I,J (or all) "
                             f"or --label_names=NAME,...; classes: "
                             f"{', '.join(f'{i}={n}' for i, n in enumerate(names))}")
    if labels.strip() == "all":
        return tuple(range(len(names)))
    out = []
    for item in (labels or label_names).split(","):
        item = item.strip()
        if label_names:
            if item not in names:
                raise SynthesisError(f"unknown class name {item!r}; classes: {', '.join(names)}")
            out.append(names.index(item))
            continue
        try:
            index = int(item)
        except ValueError:
            raise SynthesisError(f"--labels takes class indices (or all), got {item!r}; "
                                 "use --label_names for names") from None
        if not 0 <= index < len(names):
            raise SynthesisError(f"unknown class {index}: the model has {len(names)} classes "
                                 f"(0..{len(names) - 1})")
        out.append(index)
    return tuple(out)


def _holds_model(folder: str) -> bool:
    return any(tf.io.gfile.exists(os.path.join(folder, name))
               for name in ("saved_model.pb", litert.MODEL_FILE))


def resolve_model_dir(model_dir: str) -> str:
    """`model_dir` itself if it is a .tflite file or holds an export (SavedModel or
    LiteRT), else its highest numeric version folder that does."""
    if model_dir.endswith(".tflite") and tf.io.gfile.exists(model_dir):
        return model_dir
    if not tf.io.gfile.isdir(model_dir):
        raise SynthesisError(f"model dir {model_dir} does not exist")
    if _holds_model(model_dir):
        return model_dir
    versions = [int(name.rstrip("/")) for name in tf.io.gfile.listdir(model_dir)
                if name.rstrip("/").isdigit()
                and _holds_model(os.path.join(model_dir, name.rstrip("/")))]
    if not versions:
        raise SynthesisError(f"no export in {model_dir} (expected saved_model.pb or "
                             f"{litert.MODEL_FILE} there or in a numeric version folder)")
    return os.path.join(model_dir, str(max(versions)))


def load_model(model_dir: str):
    """Loads an exported generator (SavedModel, or LiteRT through litert.LiteRTModel);
    returns (module with `signatures`, metadata dict, version folder or .tflite file)."""
    path = resolve_model_dir(model_dir)
    if litert.is_litert(path):
        try:
            model = litert.LiteRTModel(path)
        except ExportError as e:
            raise SynthesisError(str(e)) from None
        return model, model.metadata, path
    try:
        module = tf.saved_model.load(path)
        metadata = json.loads(module.signatures["metadata"]()["json"].numpy())
        # Every export has one of these (context models: extend).
        if not {"generate_truncated", "extend"} & set(module.signatures):
            raise KeyError("no generate_truncated or extend signature")
    except (OSError, ValueError, KeyError, tf.errors.OpError) as e:
        first = (getattr(e, "message", None) or str(e) or type(e).__name__).splitlines()[0]
        raise SynthesisError(f"{path} is not a vidgan SavedModel or is corrupt: "
                             f"{first[:300]}") from None
    return module, metadata, path


def _file_name(seed: int, format: str, class_name: str | None = None) -> str:
    name = f"seed_{seed:08d}{video_io.EXTENSIONS[format]}"
    return name if class_name is None else os.path.join(class_name, name)


def _is_complete(path: str, format: str, shape: tuple[int, int, int]) -> bool:
    """True if `path` reads back as a video of the expected size."""
    if not os.path.exists(path):
        return False
    try:
        video = video_io.read_video(path, format, num_frames=shape[0])
    except OSError:
        return False
    # GIFs merge identical consecutive frames, so only the frame size is exact there.
    frames_ok = video.shape[0] == shape[0] or (format == "gif" and 1 <= video.shape[0])
    return frames_ok and video.shape[1:3] == shape[1:]


def _other_length(request: SynthesisRequest, metadata: dict) -> bool:
    """Whether the request asks for another length than the model's clips."""
    return request.num_frames not in (None, metadata["num_frames"])


def _settings(request: SynthesisRequest, metadata: dict, model_path: str, fps: float) -> dict:
    return {"model_path": os.path.abspath(model_path), "model_step": metadata["step"],
            "format": request.format, "fps": fps, "truncation": request.truncation,
            "labels": list(request.labels),
            # only another length than the model's: manifests of clips stay as they were
            **({"num_frames": request.num_frames} if _other_length(request, metadata) else {})}


def check_out_dir(out_dir: str, settings: dict, overwrite: bool) -> None:
    """Makes sure `out_dir` is writable and, unless `overwrite`, that its manifest (if
    any) was written with the same `settings` (a resumable run must not mix outputs)."""
    try:
        files.ensure_writable(out_dir, "out dir")
    except OSError as e:
        raise SynthesisError(str(e)) from None
    path = os.path.join(out_dir, MANIFEST)
    if overwrite or not os.path.exists(path):
        return
    try:
        with open(path) as f:
            previous = json.load(f)["settings"]
    except (OSError, ValueError, KeyError) as e:
        raise SynthesisError(f"{path} is unreadable ({e}); pass --overwrite to replace "
                             "the videos there") from None
    previous.setdefault("labels", [])  # manifests from before class-conditional models
    changed = [f"{k}: {previous.get(k)!r} -> {v!r}" for k, v in settings.items()
               if previous.get(k) != v]
    if changed:
        raise SynthesisError(f"{out_dir} holds videos made with other settings "
                             f"({'; '.join(changed)}); pass --overwrite or use another out dir")


def _write_manifest(out_dir: str, settings: dict, metadata: dict, items: list[tuple],
                    paths: dict, complete: bool) -> None:
    names = metadata.get("class_names", [])
    videos = []
    for seed, label in items:
        entry = {"seed": seed, "path": os.path.relpath(paths[seed, label], out_dir)}
        if label is not None:
            entry.update(label=label, class_name=names[label])
        videos.append(entry)
    manifest = {"settings": settings, "complete": complete, "model": metadata,
                "videos": videos}
    files.write_json(os.path.join(out_dir, MANIFEST), manifest)


def synthesize(request: SynthesisRequest, progress: bool = True) -> dict:
    """Loads `request.model_dir`, generates and writes the videos; returns a summary dict.

    Raises SynthesisError (one line) for bad requests, models or output folders.
    """
    request.validate()
    return Synthesizer(request.model_dir).run(request, progress)


class Synthesizer:
    """A loaded model that serves several synthesis requests (load once, run many)."""

    def __init__(self, model_dir: str):
        self.module, self.metadata, self.model_path = load_model(model_dir)

    def run(self, request: SynthesisRequest, progress: bool = True) -> dict:
        """Like `synthesize`, with this model (request.model_dir is not reloaded)."""
        request.validate()
        return _run(request, self.module, self.metadata, self.model_path, progress)


@dataclasses.dataclass
class Plan:
    """What a request will write: every (seed, label) item and its path, those still to
    generate, and the signature call that makes them (shared by the local loop and the
    Beam pipeline)."""

    settings: dict
    metadata: dict
    fps: float
    shape: tuple[int, int, int]  # frames, height, width of each video
    items: list[tuple]  # (seed, label or None), in manifest order
    paths: dict  # item -> file path
    todo: list[tuple]  # the items not yet written and readable
    signature: str  # "generate_truncated" or "generate_frames"
    extra: dict  # the signature's inputs besides seed and label

    @property
    def skipped(self) -> int:
        return len(self.items) - len(self.todo)

    def inputs(self, batch: list[tuple]) -> dict:
        """The signature's inputs for a batch of items."""
        inputs = {"seed": tf.constant([s for s, _ in batch], tf.int64), **self.extra}
        if self.metadata.get("conditional"):
            inputs["label"] = tf.constant([label for _, label in batch], tf.int32)
        return inputs

    def write_manifest(self, out_dir: str, complete: bool) -> None:
        _write_manifest(out_dir, self.settings, self.metadata, self.items, self.paths,
                        complete)


def plan(request: SynthesisRequest, module, metadata: dict, model_path: str) -> Plan:
    """Checks the request against the model and the out dir (SynthesisError, one line),
    creates the folders and writes the manifest as incomplete."""
    other_length = _other_length(request, metadata)
    if other_length and "generate_frames" not in module.signatures:
        family = metadata.get("family", "this family")
        how = ("needs the SavedModel export (LiteRT exports hold clips only)"
               if metadata.get("format") == "litert" else
               "re-export the run with this vidgan (exports before it lack generate_frames)"
               if family == "motion" else
               "needs a family that renders any length (model.generator.name=motion)")
        raise SynthesisError(f"{model_path} ({family}) makes clips of "
                             f"{metadata['num_frames']} frames only; --num_frames {how}")
    if other_length and request.truncation != 1.0:
        raise SynthesisError("--truncation applies to clips of the model's own length only")
    fps = float(request.fps or metadata["fps"])
    settings = _settings(request, metadata, model_path, fps)
    check_out_dir(request.out_dir, settings, request.overwrite)
    shape = (request.num_frames or metadata["num_frames"], metadata["height"],
             metadata["width"])
    if request.format == "mp4" and (shape[1] % 2 or shape[2] % 2):
        raise SynthesisError(f"mp4 (H.264) needs even height and width; the model makes "
                             f"{shape[1]}x{shape[2]}: use --format=gif, npz or png_strip")

    if metadata.get("context_frames"):
        raise SynthesisError(f"{model_path} continues given frames (context_frames="
                             f"{metadata['context_frames']}): use vidgan animate or vidgan "
                             "extend")
    conditional = bool(metadata.get("conditional"))
    if conditional and not request.labels:
        resolve_labels(metadata)  # raises the explanation that lists the classes
    if request.labels and not conditional:
        raise SynthesisError("this model is not class-conditional: it takes no labels")
    names = metadata.get("class_names", [])
    for label in request.labels:
        if not 0 <= label < len(names):
            raise SynthesisError(f"unknown class {label}: the model has {len(names)} classes")
    seeds = list(range(request.seed_start, request.seed_start + request.num_videos))
    items = [(s, label) for label in (request.labels or (None,)) for s in seeds]
    paths = {(s, label): os.path.join(request.out_dir, _file_name(
        s, request.format, None if label is None else names[label])) for s, label in items}
    for folder in {os.path.dirname(p) for p in paths.values()}:
        os.makedirs(folder, exist_ok=True)
    todo = items if request.overwrite else [
        item for item in items if not _is_complete(paths[item], request.format, shape)]
    # Besides seeds (and labels): the length of a longer render, or the truncation.
    if other_length:
        signature, extra = "generate_frames", {"num_frames": tf.constant(shape[0], tf.int32)}
    else:
        signature = "generate_truncated"
        extra = {"truncation": tf.constant(request.truncation, tf.float32)}
    result = Plan(settings, metadata, fps, shape, items, paths, todo, signature, extra)
    result.write_manifest(request.out_dir, complete=False)
    if result.skipped:
        logging.info("%d of %d videos already written in %s; generating %d.", result.skipped,
                     len(items), request.out_dir, len(todo))
    return result


def _run(request: SynthesisRequest, module, metadata: dict, model_path: str,
         progress: bool) -> dict:
    job = plan(request, module, metadata, model_path)
    todo, skipped, items, paths, fps = job.todo, job.skipped, job.items, job.paths, job.fps
    generate = module.signatures[job.signature]
    bar = tqdm.tqdm(total=len(items), initial=skipped, unit="video", disable=not progress,
                    file=sys.stderr, dynamic_ncols=True)
    pending: collections.deque = collections.deque()
    # Bounded look-ahead: at most two batches wait for encoding while the next generates.
    max_pending = 2 * request.batch_size
    stopped, written = None, 0
    with stopping.StopSignals("the videos being written") as stop, \
            concurrent.futures.ThreadPoolExecutor(request.encode_workers) as pool:
        for start in range(0, len(todo), request.batch_size):
            if stop.requested:  # what is written stays; a re-run skips it
                stopped = stop.requested
                break
            batch = todo[start:start + request.batch_size]
            written += len(batch)
            videos = generate(**job.inputs(batch))["video"].numpy()  # [N, T, H, W, 3]
            for item, video in zip(batch, videos):
                pending.append(pool.submit(video_io.write_video, paths[item], video, fps,
                                           request.format))
            while len(pending) > max_pending:
                pending.popleft().result()
                bar.update(1)
        while pending:
            pending.popleft().result()
            bar.update(1)
    bar.close()
    job.write_manifest(request.out_dir, complete=not stopped)
    return {"written": written, "skipped": skipped, "out_dir": request.out_dir,
            "manifest": os.path.join(request.out_dir, MANIFEST), "model": model_path,
            "stopped": stopped, "remaining": len(todo) - written}

