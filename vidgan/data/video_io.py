"""Video files at the edges of the library: uint8 [T, H, W, 3] RGB in, files out (and back).

Writers, by format:
  mp4        H.264 (yuv420p, CRF 18) through PyAV's bundled FFmpeg + libx264, in process;
             plays in browsers. OpenCV's wheel can only write MPEG-4 part 2 (`mp4v`).
  gif        animated, looping, through Pillow.
  npz        numpy archive {"video": uint8 [T, H, W, 3]} (lossless).
  png_strip  the frames side by side in one PNG [H, T*W, 3] (lossless, easy to eyeball).
Every writer goes through a temporary file in the same folder and renames it, so a file
that exists is complete.
"""

from __future__ import annotations

import fractions
import io
import os
import tempfile
import zipfile

import cv2
import numpy as np
from PIL import Image

FORMATS = ("mp4", "gif", "npz", "png_strip")
EXTENSIONS = {"mp4": ".mp4", "gif": ".gif", "npz": ".npz", "png_strip": ".png"}


def _check_video(video: np.ndarray) -> np.ndarray:
    video = np.asarray(video)
    if video.dtype != np.uint8 or video.ndim != 4 or video.shape[-1] != 3:
        raise ValueError(f"expected a uint8 video [T, H, W, 3], got {video.dtype} {video.shape}")
    return video


def encode_gif(video: np.ndarray, fps: float) -> bytes:
    """uint8 [T, H, W, 3] -> bytes of an animated GIF that loops forever.

    Pillow merges identical consecutive frames (adding their durations), so a GIF can
    hold fewer frames than T while playing for the same time.
    """
    frames = [Image.fromarray(frame) for frame in _check_video(video)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:],
                   duration=max(20, round(1000 / fps)), loop=0, optimize=False)
    return buffer.getvalue()


def _write_mp4(path: str, video: np.ndarray, fps: float) -> None:
    import av  # noqa: PLC0415  (only needed for mp4)

    t, h, w, _ = video.shape
    rate = fractions.Fraction(fps).limit_denominator(1001)
    with av.open(path, "w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=rate,
                                      options={"crf": "18", "preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        # One thread per file: the caller encodes several files in parallel instead.
        stream.codec_context.thread_count = 1
        for frame in video:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())  # flush


def _write(path: str, video: np.ndarray, fps: float, format: str) -> None:
    if format == "mp4":
        _write_mp4(path, video, fps)
    elif format == "gif":
        with open(path, "wb") as f:
            f.write(encode_gif(video, fps))
    elif format == "npz":
        with open(path, "wb") as f:
            np.savez_compressed(f, video=video)
    elif format == "png_strip":
        strip = np.concatenate(list(video), axis=1)  # [H, T*W, 3]
        ok, data = cv2.imencode(".png", cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
        if not ok:
            raise OSError(f"PNG encoding failed for {path}")
        with open(path, "wb") as f:
            f.write(data.tobytes())
    else:
        raise ValueError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")


def write_video(path: str, video: np.ndarray, fps: float, format: str) -> None:
    """Writes uint8 [T, H, W, 3] RGB to `path` atomically (temp file + rename)."""
    video = _check_video(video)
    if format == "mp4" and (video.shape[1] % 2 or video.shape[2] % 2):
        raise ValueError(f"H.264 (yuv420p) needs even height and width, got {video.shape[1:3]}")
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=EXTENSIONS.get(format, ""), dir=folder)
    os.close(fd)
    try:
        _write(tmp, video, fps, format)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def read_video(path: str, format: str, num_frames: int | None = None) -> np.ndarray:
    """Reads a file written by `write_video` back to uint8 [T, H, W, 3] RGB.

    For png_strip, `num_frames` splits the strip. Raises OSError if unreadable.
    """
    try:
        if format == "npz":
            with np.load(path) as data:
                return data["video"]
        if format == "png_strip":
            strip = cv2.imread(path, cv2.IMREAD_COLOR)
            if strip is None or not num_frames or strip.shape[1] % num_frames:
                raise OSError("not a PNG strip of the expected size")
            return np.stack(np.split(cv2.cvtColor(strip, cv2.COLOR_BGR2RGB), num_frames, axis=1))
        if format == "gif":
            with Image.open(path) as image:
                frames = []
                for index in range(image.n_frames):
                    image.seek(index)
                    frames.append(np.asarray(image.convert("RGB")))
                return np.stack(frames)
        if format == "mp4":
            capture = cv2.VideoCapture(path)
            frames = []
            while True:
                ok, frame = capture.read()
                if not ok:
                    break
                frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            capture.release()
            if not frames:
                raise OSError("no decodable frames")
            return np.stack(frames)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise OSError(f"cannot read {path}: {e}") from None
    raise ValueError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")
