"""Videos from given frames, with an exported context model (data.context_frames = k > 0):
bring still images to life (`animate`, k = 1) and continue a video (`extend`).

    from vidgan import continuation
    continuation.animate(continuation.AnimateRequest("exports/anim", "photos/", "out/"))
    continuation.extend(continuation.ExtendRequest("exports/ext", "clip.mp4", "long.mp4",
                                                   seconds=20))

Inputs are read as the training data is (any container OpenCV reads, or a frame folder),
resampled to the model's fps and resized to its size (the shorter side to size, then the
centre crop, or a plain resize for models trained with data.resize="stretch").
Frame 0 of an animated video is the resized image itself; an extended video is the
resized input followed by the continuation, as long as asked.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile

import cv2
import numpy as np
import tensorflow as tf
import tqdm

from vidgan import files
from vidgan import synthesis
from vidgan.data import video_io

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


class ContinuationError(ValueError):
    """A request that cannot run; the message says why in one line."""


def load_context_model(model_dir: str, need_animate: bool = False):
    """(module, metadata, version folder) of an exported context model."""
    try:
        module, metadata, path = synthesis.load_model(model_dir)
    except synthesis.SynthesisError as e:
        raise ContinuationError(str(e)) from None
    k = int(metadata.get("context_frames", 0))
    if not k:
        raise ContinuationError(f"{path} makes videos from noise (no context frames): use "
                                "vidgan synthesize")
    if need_animate and k != 1:
        raise ContinuationError(f"{path} continues {k} context frames, not one image: use "
                                "vidgan extend")
    return module, metadata, path


def fit_frame(frame: np.ndarray, height: int, width: int, mode: str) -> np.ndarray:
    """uint8 [h, w, 3] -> [height, width, 3]: the shorter side scaled to size and the
    centre cropped (`mode` center_crop / random_crop), or a plain resize ("stretch")."""
    h, w = frame.shape[:2]
    if (h, w) == (height, width):
        return frame
    if mode != "stretch":
        scale = max(height / h, width / w)
        crop_h, crop_w = min(h, round(height / scale)), min(w, round(width / scale))
        top, left = (h - crop_h) // 2, (w - crop_w) // 2
        frame = frame[top:top + crop_h, left:left + crop_w]
    shrink = frame.shape[0] > height or frame.shape[1] > width
    return cv2.resize(frame, (width, height),
                      interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def read_video(path: str, fps: float, height: int, width: int, mode: str) -> np.ndarray:
    """A video file or frame folder resampled to `fps` (frame i of the result is the input
    frame shown at time i / fps) and fitted to height x width: uint8 [n, H, W, 3]."""
    try:
        info = video_io.probe(path)
        frames = list(video_io.iter_frames(path))
    except video_io.VideoReadError as e:
        raise ContinuationError(f"{path}: {e}") from None
    if not frames:
        raise ContinuationError(f"{path}: no decodable frames")
    count = max(1, int(np.floor(len(frames) * fps / info.fps + 1e-6)))
    picks = np.minimum(np.round(np.arange(count) * info.fps / fps).astype(int), len(frames) - 1)
    return np.stack([fit_frame(frames[i], height, width, mode) for i in picks])


def _model_geometry(metadata: dict) -> tuple[int, int, int, str]:
    resize = metadata.get("config", {}).get("data", {}).get("resize", "center_crop")
    return metadata["num_frames"], metadata["height"], metadata["width"], resize


# --- animate ----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class AnimateRequest:
    model_dir: str
    images: str  # an image file, or a folder of them
    out_dir: str
    num_videos: int = 1  # per image: seeds seed_start .. seed_start + num_videos - 1
    seed_start: int = 0
    batch_size: int = 16
    format: str = "mp4"
    fps: float | None = None  # None: the model's
    overwrite: bool = False

    def validate(self) -> None:
        if self.num_videos <= 0:
            raise ContinuationError(f"num_videos must be > 0, got {self.num_videos}")
        if self.batch_size <= 0:
            raise ContinuationError(f"batch_size must be > 0, got {self.batch_size}")
        if self.seed_start < 0:
            raise ContinuationError(f"seed_start must be >= 0, got {self.seed_start}")
        if self.format not in video_io.FORMATS:
            raise ContinuationError(f"unknown format {self.format!r}; use one of "
                                    f"{', '.join(video_io.FORMATS)}")
        if self.fps is not None and not 0 < self.fps <= 1000:
            raise ContinuationError(f"fps must be in (0, 1000], got {self.fps}")


def list_images(path: str) -> list[str]:
    if os.path.isdir(path):
        names = [n for n in os.listdir(path) if n.lower().endswith(IMAGE_EXTENSIONS)]
        files = [os.path.join(path, n) for n in sorted(names, key=video_io.natural_key)]
        if not files:
            raise ContinuationError(f"{path} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
        return files
    if not os.path.exists(path):
        raise ContinuationError(f"{path} does not exist")
    return [path]


def read_image(path: str, height: int, width: int, mode: str) -> np.ndarray:
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise ContinuationError(f"{path}: not an image OpenCV can decode")
    return fit_frame(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), height, width, mode)


def animate(request: AnimateRequest, progress: bool = True) -> dict:
    """Writes `<out_dir>/<image name>/seed_<seed>.<ext>` for every image and seed, and
    manifest.json; files already written and readable are skipped (resumable). Returns a
    summary dict."""
    request.validate()
    module, metadata, path = load_context_model(request.model_dir, need_animate=True)
    t, h, w, mode = _model_geometry(metadata)
    if request.format == "mp4" and (h % 2 or w % 2):
        raise ContinuationError(f"mp4 needs an even size; the model makes {h}x{w}")
    fps = float(request.fps or metadata["fps"])
    images = list_images(request.images)
    stems = [os.path.splitext(os.path.basename(p))[0] for p in images]
    if len(set(stems)) != len(stems):
        raise ContinuationError("two images share a name (without extension)")
    settings = {"model_path": os.path.abspath(path), "model_step": metadata["step"],
                "format": request.format, "fps": fps}
    try:
        synthesis.check_out_dir(request.out_dir, settings, request.overwrite)
    except synthesis.SynthesisError as e:
        raise ContinuationError(str(e)) from None
    seeds = range(request.seed_start, request.seed_start + request.num_videos)
    items = [(image, stem, s) for image, stem in zip(images, stems) for s in seeds]
    out = {(stem, s): os.path.join(request.out_dir, stem,
                                   f"seed_{s:08d}{video_io.EXTENSIONS[request.format]}")
           for _, stem, s in items}
    todo = [item for item in items if request.overwrite or not synthesis._is_complete(
        out[item[1], item[2]], request.format, (t, h, w))]
    signature = module.signatures["animate"]
    bar = tqdm.tqdm(total=len(items), initial=len(items) - len(todo), unit="video",
                    disable=not progress, file=sys.stderr, dynamic_ncols=True)
    cache: dict[str, np.ndarray] = {}
    for start in range(0, len(todo), request.batch_size):
        batch = todo[start:start + request.batch_size]
        for image, _, _ in batch:
            if image not in cache:
                cache[image] = read_image(image, h, w, mode)
        videos = signature(image=tf.constant(np.stack([cache[i] for i, _, _ in batch])),
                           seed=tf.constant([s for _, _, s in batch], tf.int64))["video"]
        for (_, stem, s), video in zip(batch, videos.numpy()):
            os.makedirs(os.path.dirname(out[stem, s]), exist_ok=True)
            video_io.write_video(out[stem, s], video, fps, request.format)
            bar.update(1)
    bar.close()
    manifest = {"settings": settings, "model": metadata, "videos": [
        {"image": os.path.abspath(image), "seed": s,
         "path": os.path.relpath(out[stem, s], request.out_dir)} for image, stem, s in items]}
    files.write_json(os.path.join(request.out_dir, synthesis.MANIFEST), manifest)
    return {"written": len(todo), "skipped": len(items) - len(todo),
            "out_dir": request.out_dir, "model": path}


# --- extend -----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ExtendRequest:
    model_dir: str
    input: str  # a video file or frame folder
    output: str  # .mp4, .gif, .npz or .png (by extension)
    seconds: float | None = None  # total length of the output; or
    frames: int | None = None  # total frames of the output (at the model's fps)
    seed: int = 0
    enhance: str = ""  # an enhancement chain applied to the whole output (mp4 only)
    sr_workdir: str | None = None

    def validate(self) -> None:
        if (self.seconds is None) == (self.frames is None):
            raise ContinuationError("give the output length as seconds or frames (one)")
        if self.seconds is not None and not 0 < self.seconds < float("inf"):
            raise ContinuationError(f"seconds must be > 0, got {self.seconds}")
        if self.frames is not None and self.frames <= 0:
            raise ContinuationError(f"frames must be > 0, got {self.frames}")
        if self.seed < 0:
            raise ContinuationError(f"seed must be >= 0, got {self.seed}")
        if self.format is None:
            raise ContinuationError(f"output {self.output}: use a .mp4, .gif, .npz or .png "
                                    "file name")
        if self.enhance and self.format != "mp4":
            raise ContinuationError("enhance writes H.264: use an .mp4 output")

    @property
    def format(self) -> str | None:
        ext = os.path.splitext(self.output)[1].lower()
        return next((f for f, e in video_io.EXTENSIONS.items() if e == ext), None)


def extend(request: ExtendRequest, progress: bool = True) -> dict:
    """Writes the input (resampled and resized to the model's) followed by the generated
    continuation, `seconds` (or `frames`) long in all. Returns a summary dict."""
    request.validate()
    module, metadata, path = load_context_model(request.model_dir)
    t, h, w, mode = _model_geometry(metadata)
    k, fps = int(metadata["context_frames"]), float(metadata["fps"])
    given = read_video(request.input, fps, h, w, mode)  # [n, H, W, 3]
    if len(given) < k:
        raise ContinuationError(f"{request.input} gives {len(given)} frames at the model's "
                                f"{fps:g} fps; the model continues from its last {k}")
    total = request.frames if request.frames is not None else round(request.seconds * fps)
    if total <= len(given):
        raise ContinuationError(f"the output ({total} frames at {fps:g} fps) must be longer "
                                f"than the input ({len(given)} frames, "
                                f"{len(given) / fps:.2f} s)")
    if request.format == "mp4" and (h % 2 or w % 2):
        raise ContinuationError(f"mp4 needs an even size; the model makes {h}x{w}")
    step, chunks = t - k, -(-(total - len(given)) // (t - k))
    signature = module.signatures["extend_from_chunk"]
    parts, window = [given], given[None, -k:]
    seed = tf.constant([request.seed], tf.int64)
    for c in tqdm.trange(chunks, unit="chunk", desc="extend", disable=not progress,
                         file=sys.stderr, dynamic_ncols=True):
        new = signature(frames=tf.constant(window), seed=seed,
                        num_frames=tf.constant(step, tf.int32),
                        first_chunk=tf.constant(c, tf.int32))["video"].numpy()  # [1, s, ...]
        parts.append(new[0])
        window = np.concatenate([window, new], axis=1)[:, -k:]
    video = np.concatenate(parts)[:total]
    os.makedirs(os.path.dirname(os.path.abspath(request.output)), exist_ok=True)
    if not request.enhance:
        video_io.write_video(request.output, video, fps, request.format)
    else:
        from vidgan.enhance import EnhanceError  # noqa: PLC0415
        from vidgan.enhance.video import enhance_file  # noqa: PLC0415

        with tempfile.TemporaryDirectory() as tmp:
            raw = os.path.join(tmp, "extended.mp4")
            video_io.write_video(raw, video, fps, "mp4")
            try:
                enhance_file(raw, request.output, request.enhance, request.sr_workdir,
                             fps=fps, progress=progress)
            except EnhanceError as e:
                raise ContinuationError(str(e)) from None
    return {"output": request.output, "input_frames": len(given),
            "generated_frames": total - len(given), "frames": total, "fps": fps,
            "model": path}
