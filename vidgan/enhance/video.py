"""`enhance_file`: run an enhancement chain over a video file in chunks of frames.

Memory stays bounded on long videos: frames are decoded, enhanced and encoded `chunk`
at a time. Each chunk is given the frames of temporal context its passes need (one on
each side per temporal Denoise and per learned SR network that reads 3 frames), so the
output equals enhancing the whole video at once.
"""

from __future__ import annotations

import collections
import os

import numpy as np
import tensorflow as tf
import tqdm

from vidgan.data import video_io
from vidgan.enhance import Denoise, EnhanceError, Enhancement, SuperResolution, build_chain


def _reads_neighbours(layer) -> bool:
    if isinstance(layer, Denoise):
        return layer.temporal > 0  # mixes t-1 and t+1
    if isinstance(layer, SuperResolution) and layer.mode == "learned":
        return layer.network.frames == 3  # luma of t-1, t, t+1 as channels
    return False


def temporal_context(passes) -> int:
    """Frames of context each side that the chain needs: one per pass that reads frames
    t-1 and t+1 (temporal Denoise, learned SR with sr.frames = 3)."""
    return sum(1 for p in passes if _reads_neighbours(p))


def check_frame_size(passes: list, width: int, height: int, name: str) -> None:
    """EnhanceError naming the first pass whose padding does not fit the frames as they
    reach it (super-resolution enlarges them for the passes after it)."""
    side = min(width, height)
    for p in passes:
        if side < p.min_size():
            raise EnhanceError(f"{name}: frames of {width}x{height} are too small for "
                               f"{p.name} (it needs at least {p.min_size()} pixels a side "
                               f"where it runs)")
        side *= getattr(p, "scale", 1)


def enhance_file(input_path: str, output_path: str, spec: str, sr_workdir: str | None = None,
                 chunk: int = 32, fps: float | None = None, progress: bool = True) -> dict:
    """Enhances `input_path` (any video OpenCV reads, or a frame folder) into an H.264
    `output_path` (.mp4). Returns {"frames", "input_size", "output_size", "fps"}."""
    if not output_path.lower().endswith(".mp4"):
        raise EnhanceError(f"--output must be an .mp4 file (H.264), got {output_path}")
    if chunk < 1:
        raise EnhanceError(f"chunk must be >= 1, got {chunk}")
    try:
        info = video_io.probe(input_path)
    except video_io.VideoReadError as e:
        raise EnhanceError(f"{input_path}: {e}") from None
    passes = build_chain(spec, sr_workdir)
    check_frame_size(passes, info.width, info.height, input_path)
    chain = Enhancement(passes)
    run = tf.function(chain, input_signature=[tf.TensorSpec([1, None, None, None, 3], tf.uint8)],
                      autograph=False)
    context = temporal_context(passes)
    fps = fps or info.fps
    os.makedirs(os.path.dirname(os.path.abspath(output_path)), exist_ok=True)

    # window: frames not yet written plus up to `context` already written ones before them.
    window: collections.deque = collections.deque()
    written_in_window = 0  # leading frames of `window` that are context only
    out_size = None
    done = 0
    frames = video_io.iter_frames(input_path)
    with video_io.Mp4Writer(output_path, fps, threads=0) as writer, tqdm.tqdm(
            total=info.frames, unit="frame", desc="enhance", disable=not progress) as bar:
        finished = False
        while not finished:
            while len(window) - written_in_window < chunk + context:
                frame = next(frames, None)
                if frame is None:
                    finished = True
                    break
                window.append(frame)
            pending = len(window) - written_in_window
            if pending == 0:
                break
            # Write `chunk` frames (all that remain at the end); the `context` frames after
            # them only inform the temporal passes.
            count = pending if finished else chunk
            clip = np.stack(window)[None]
            out = run(tf.constant(clip))[0].numpy()
            writer.write(out[written_in_window:written_in_window + count])
            out_size = out.shape[1:3]
            done += count
            bar.update(count)
            for _ in range(written_in_window + count - context if written_in_window + count
                           > context else 0):
                window.popleft()
            written_in_window = min(context, written_in_window + count)
    if done == 0:
        raise EnhanceError(f"{input_path}: no decodable frames")
    return {"frames": done, "input_size": [info.height, info.width],
            "output_size": list(out_size), "fps": fps}
