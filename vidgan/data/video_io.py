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

import contextlib
import dataclasses
import fractions
import io
import os
import re
import zipfile

import cv2
import numpy as np
from PIL import Image

from vidgan import files

FORMATS = ("mp4", "gif", "npz", "png_strip")
EXTENSIONS = {"mp4": ".mp4", "gif": ".gif", "npz": ".npz", "png_strip": ".png"}

# The frame rate assumed when a container does not say (and for frame folders).
DEFAULT_FPS = 25.0


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


class Mp4Writer:
    """Streams uint8 RGB frames into an H.264 (yuv420p) mp4 through PyAV: for videos too
    long to hold in memory. `with Mp4Writer(path, fps) as w: w.write(frames [N, H, W, 3])`.
    The file is written under a temporary name and renamed on a clean exit only."""

    def __init__(self, path: str, fps: float, threads: int = 1, atomic: bool = True):
        import av  # noqa: PLC0415  (only needed for mp4)

        self._av, self.path, self.fps, self.threads = av, path, fps, threads
        self.frames = 0
        # files.staged renames the temporary over `path` when __exit__ passes it no error
        self._staging = contextlib.ExitStack()
        target = self._staging.enter_context(files.staged(path, ".mp4")) if atomic else path
        try:
            self._container = av.open(target, "w", format="mp4",
                                      options={"movflags": "+faststart"})
        except BaseException:
            self._staging.close()  # no temporary left behind (staged removes it)
            raise
        self._stream = None

    def write(self, frames: np.ndarray) -> None:
        frames = _check_video(frames)
        if self._stream is None:
            h, w = frames.shape[1:3]
            if h % 2 or w % 2:
                raise ValueError(f"H.264 (yuv420p) needs even height and width, got {h}x{w}")
            rate = fractions.Fraction(self.fps).limit_denominator(1001)
            # No macroblock tree / rate-control lookahead: with them this libx264 does not
            # repeat itself (re-encoding the same frames changed 2-12 of 48 clips, by up
            # to 31 levels); without them every encode of the same frames is the same file
            # (256 clips x 3) and, on 16-frame clips, 5 % smaller (BUILD.md).
            self._stream = self._container.add_stream(
                "libx264", rate=rate, options={"crf": "18", "preset": "veryfast",
                                               "x264-params": "mbtree=0:rc-lookahead=0"})
            self._stream.width, self._stream.height, self._stream.pix_fmt = w, h, "yuv420p"
            self._stream.codec_context.thread_count = self.threads
        for frame in frames:
            self._container.mux(self._stream.encode(
                self._av.VideoFrame.from_ndarray(frame, format="rgb24")))
        self.frames += len(frames)

    def __enter__(self) -> "Mp4Writer":
        return self

    def __exit__(self, kind, error, traceback) -> None:
        try:
            if self._stream is not None and kind is None:
                self._container.mux(self._stream.encode())  # flush
            self._container.close()
        except BaseException as e:
            self._staging.__exit__(type(e), e, e.__traceback__)  # removes the temporary
            raise
        # renames the temporary over `path`, or removes it if the block raised
        self._staging.__exit__(kind, error, traceback)


def _write_mp4(path: str, video: np.ndarray, fps: float) -> None:
    # One thread per file: the caller encodes several files in parallel instead.
    with Mp4Writer(path, fps, threads=1, atomic=False) as writer:
        writer.write(video)


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
    with files.staged(path, EXTENSIONS.get(format, "")) as temp:
        _write(temp, video, fps, format)


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


# --- reading: probing and decoding ------------------------------------------------------
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
_DIGITS = re.compile(r"(\d+)")


class VideoReadError(OSError):
    """A video that cannot be used; str() is the one-line reason."""


class EndOfVideo(VideoReadError):
    """The stream ended before a requested frame; `available` frames were decoded."""

    def __init__(self, message: str, available: int):
        super().__init__(message)
        self.available = available


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """What probing a video tells: frame count (the container's estimate for files),
    frames per second, and frame size."""

    frames: int
    fps: float
    width: int
    height: int


def natural_key(name: str) -> tuple:
    """Sort key that orders digit runs by value: frame2 < frame10."""
    return tuple(int(part) if part.isdigit() else part.lower()
                 for part in _DIGITS.split(os.path.basename(name.rstrip("/"))))


def frame_files(folder: str) -> list[str]:
    """The image files of a frame folder, in natural (numeric) order."""
    names = [n for n in os.listdir(folder) if n.lower().endswith(IMAGE_EXTENSIONS)]
    return [os.path.join(folder, n) for n in sorted(names, key=natural_key)]


def probe(path: str, default_fps: float = DEFAULT_FPS) -> VideoInfo:
    """Opens a video file or a frame folder and reads its first frame.

    Raises VideoReadError with a one-line reason: missing, empty file, not a video,
    no decodable frames.
    """
    if os.path.isdir(path):
        files = frame_files(path)
        if not files:
            raise VideoReadError("frame folder has no images")
        first = cv2.imread(files[0], cv2.IMREAD_COLOR)
        if first is None:
            raise VideoReadError(f"cannot decode image {os.path.basename(files[0])}")
        return VideoInfo(len(files), default_fps, first.shape[1], first.shape[0])
    if not os.path.exists(path):
        raise VideoReadError("file does not exist")
    if os.path.getsize(path) == 0:
        raise VideoReadError("empty file (0 bytes)")
    capture = cv2.VideoCapture(path)
    try:
        if not capture.isOpened():
            raise VideoReadError("not a video OpenCV can open")
        ok, frame = capture.read()
        if not ok or frame is None:
            raise VideoReadError("no decodable frames")
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = capture.get(cv2.CAP_PROP_FPS)
        fps = fps if 0 < fps < 1000 else default_fps
        return VideoInfo(max(frames, 1), float(fps), frame.shape[1], frame.shape[0])
    finally:
        capture.release()


def open_capture(path: str, threads: int = 0) -> cv2.VideoCapture:
    """An OpenCV capture of a video file through FFmpeg; `threads` > 0 caps FFmpeg's
    decoding threads (0: FFmpeg's default, about one per core)."""
    if threads > 0:
        return cv2.VideoCapture(path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, threads])
    return cv2.VideoCapture(path)


def iter_frames(path: str, rgb: bool = True, threads: int = 0):
    """Every frame of a video file (read sequentially until the stream ends) or of a frame
    folder (its images in natural order): uint8 [H, W, 3], RGB (or BGR if not `rgb`).

    `threads`: FFmpeg decoding threads (open_capture). Raises VideoReadError if the file
    cannot be opened or an image of a frame folder cannot be decoded. A stream that stops
    early (a truncated file) just ends.
    """
    if os.path.isdir(path):
        for name in frame_files(path):
            image = cv2.imread(name, cv2.IMREAD_COLOR)
            if image is None:
                raise VideoReadError(f"cannot decode image {os.path.basename(name)}")
            yield cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if rgb else image
        return
    capture = open_capture(path, threads)
    try:
        if not capture.isOpened():
            raise VideoReadError("not a video OpenCV can open")
        while True:
            ok, frame = capture.read()
            if not ok or frame is None:
                return
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if rgb else frame
    finally:
        capture.release()


def read_frames(path: str, indices: list[int], threads: int = 0) -> np.ndarray:
    """Decodes the frames at sorted `indices` (repeats allowed): uint8 [len, H, W, 3] RGB.

    Video files are read sequentially from the start (seeking is inexact in many
    containers); frame folders read only the files asked for. `threads`: FFmpeg decoding
    threads (see open_capture). Raises VideoReadError if the video ends before the last
    index (a truncated file) or a frame is unreadable.
    """
    if not indices:
        raise ValueError("no frame indices")
    wanted = sorted(indices)
    if os.path.isdir(path):
        files = frame_files(path)
        if wanted[-1] >= len(files):
            raise VideoReadError(f"frame folder has {len(files)} images, needs {wanted[-1] + 1}")
        cache: dict[int, np.ndarray] = {}
        for i in set(wanted):
            image = cv2.imread(files[i], cv2.IMREAD_COLOR)
            if image is None:
                raise VideoReadError(f"cannot decode image {os.path.basename(files[i])}")
            cache[i] = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        _check_same_size(cache.values())
        return np.stack([cache[i] for i in indices])
    capture = open_capture(path, threads)
    if not capture.isOpened():
        raise VideoReadError("not a video OpenCV can open")
    decoded: dict[int, np.ndarray] = {}
    needed = set(wanted)
    try:
        for index in range(wanted[-1] + 1):
            if index in needed:
                ok, frame = capture.read()
                if ok:
                    decoded[index] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            else:
                ok = capture.grab()  # skip without color conversion
            if not ok:
                raise EndOfVideo(f"truncated: decoding stopped at frame {index}, "
                                 f"needed {wanted[-1] + 1}", available=index)
    finally:
        capture.release()
    _check_same_size(decoded.values())
    return np.stack([decoded[i] for i in indices])


def _check_same_size(frames) -> None:
    shapes = {frame.shape for frame in frames}
    if len(shapes) > 1:
        raise VideoReadError(f"frame size changes within the video: {sorted(shapes)}")
