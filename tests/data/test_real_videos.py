"""Real videos (data.source video_files / frame_folders) on videos written here with OpenCV:
listing and labels, the split by video, probing and every skip reason (counted in
health() and TensorBoard), clip decoding (frame order, stride, target fps, offsets,
resize, flip), seeded determinism, resume, epochs, and the shared real clips if present.

The synthetic videos are MJPG .avi of 48x64 whose frames encode what the tests check,
so it survives lossy coding and resizing: red = 16 + 8 * frame index (flat), green = a
left-to-right ramp 0..255 (horizontal position: crops and flips), blue = 16 + 48 * video
id (flat).
"""

import os
import shutil
import subprocess

import cv2
import numpy as np
import pytest
import tensorflow as tf

from helpers import (REPO, SHARED_VIDEOS, overstate_avi_length, read_events,
                     require_shared_videos, vidgan, write_truncated, write_video)
from vidgan import config as config_lib
from vidgan.config import DataConfig
from vidgan.data import DataError, health, make_dataset, pipeline, sources, video_io

TINY = os.path.join(REPO, "experiments", "quickstart.py") + ":tiny"
H, W = 48, 64


# --- writing test videos ------------------------------------------------------------------
def frame(index: int, video_id: int = 0, h: int = H, w: int = W) -> np.ndarray:
    """RGB uint8 [h, w, 3] encoding the frame index (red), x (green) and video id (blue)."""
    out = np.empty((h, w, 3), np.uint8)
    out[..., 0] = 16 + 8 * index
    out[..., 1] = np.round(np.arange(w) * 255 / (w - 1)).astype(np.uint8)[None, :]
    out[..., 2] = 16 + 48 * video_id
    return out


def write_indexed_avi(path, num_frames=30, fps=25.0, video_id=0, h=H, w=W) -> str:
    """An MJPG .avi of `num_frames` encoded frames (at most 30: red stays below 256)."""
    assert num_frames <= 30
    return write_video(path, np.stack([frame(i, video_id, h, w) for i in range(num_frames)]), fps)


def write_broken(folder) -> dict[str, int]:
    """Files that fail probing, one per reason; returns the expected reason counts."""
    os.makedirs(folder, exist_ok=True)
    open(os.path.join(folder, "empty.mp4"), "wb").close()
    with open(os.path.join(folder, "text.mp4"), "w") as f:
        f.write("not a video\n" * 100)
    with open(os.path.join(folder, "noise.mp4"), "wb") as f:
        f.write(np.random.default_rng(0).bytes(20_000))
    write_indexed_avi(os.path.join(folder, "short.avi"), num_frames=2)
    write_indexed_avi(os.path.join(folder, "huge.avi"), num_frames=8, h=96, w=128)
    return {"empty file": 1, "not a video OpenCV can open": 2, "too short": 1,
            "absurd resolution": 1}


# --- reading what the clips encode -----------------------------------------------------------
def to_uint8_scale(video) -> np.ndarray:
    return (np.asarray(video, np.float64) + 1.0) * 127.5


def frame_indices(clips) -> np.ndarray:
    """[..., T, H, W, 3] in [-1, 1] -> the encoded frame index of each frame [..., T]."""
    red = to_uint8_scale(clips)[..., 0].mean(axis=(-2, -1))
    return np.round((red - 16) / 8).astype(int)


def video_ids(clips) -> np.ndarray:
    """[N, T, H, W, 3] -> the encoded video id of each clip [N]."""
    blue = to_uint8_scale(clips)[..., 2].mean(axis=(1, 2, 3))
    return np.round((blue - 16) / 48).astype(int)


def green_columns(clips) -> np.ndarray:
    """[N, T, H, W, 3] -> mean green per output column [N, W] (0..255: source position)."""
    return to_uint8_scale(clips)[..., 1].mean(axis=(1, 2))


def cfg(path, **overrides) -> DataConfig:
    values = dict(source="video_files", path=str(path), num_frames=4, height=16, width=16,
                  split="all")
    values.update(overrides)
    return DataConfig(**values)


def batches(config, batch_size, count, start_index=0) -> list[dict[str, np.ndarray]]:
    iterator = iter(make_dataset(config, batch_size, start_index))
    return [{k: v.numpy() for k, v in next(iterator).items()} for _ in range(count)]


# Five labelled videos of 30 frames: ids 0..4 in blue; classes jump (0), run (1), walk (2).
LIBRARY = {"jump/a.avi": 0, "jump/b.avi": 0, "run/c.avi": 1, "walk/d.avi": 2, "walk/e.avi": 2}


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("library")
    for video_id, relpath in enumerate(LIBRARY):
        write_indexed_avi(root / relpath, num_frames=30, video_id=video_id)
    (root / "notes.txt").write_text("ignored")
    cv2.imwrite(str(root / "walk" / "thumbnail.png"), np.zeros((8, 8, 3), np.uint8))
    return str(root)


# --- listing --------------------------------------------------------------------------------
def test_folders_are_searched_recursively_for_video_extensions_only(tmp_path):
    """Every video extension at any depth (case-insensitive) and nothing else is listed."""
    for name in ("a/x.mp4", "a/deep/er/y.MKV", "b/z.webm", "b/w.gif", "c.avi",
                 "a/notes.txt", "b/frame.png", "a/meta.json", "b/z.webm.part"):
        os.makedirs(os.path.dirname(tmp_path / name), exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    videos, classes = sources.list_videos(str(tmp_path), "video_files")
    assert [v.relpath for v in videos] == ["a/deep/er/y.MKV", "a/x.mp4", "b/w.gif", "b/z.webm",
                                           "c.avi"]
    assert classes == [] and {v.label for v in videos} == {-1}
    assert all(os.path.isfile(v.path) for v in videos)


def test_globs_and_labels_from_sorted_parent_folder_names(tmp_path):
    """A glob selects files; labels index the sorted names of the videos' parent folders."""
    for name in ("walk/1.avi", "jump/2.avi", "run/3.avi", "run/4.mp4", "zzz/5.avi"):
        os.makedirs(os.path.dirname(tmp_path / name), exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    videos, classes = sources.list_videos(str(tmp_path / "*" / "*.avi"), "video_files",
                                          labels=True)
    assert classes == ["jump", "run", "walk", "zzz"]
    assert [(v.relpath, v.label) for v in videos] == [
        ("jump/2.avi", 0), ("run/3.avi", 1), ("walk/1.avi", 2), ("zzz/5.avi", 3)]
    recursive, _ = sources.list_videos(str(tmp_path / "**" / "*.mp4"), "video_files")
    assert [v.relpath for v in recursive] == ["run/4.mp4"]


def test_natural_key_and_frame_files_order_numerically(tmp_path):
    """frame2 sorts before frame10 (lexicographic order would put frame10 first)."""
    assert sorted(["frame10.png", "frame2.png", "frame1.png"], key=video_io.natural_key) == [
        "frame1.png", "frame2.png", "frame10.png"]
    assert video_io.natural_key("a/b/Frame007.JPG") == video_io.natural_key("frame7.jpg")
    for i in (12, 3, 1, 10, 2, 11, 4, 5, 6, 7, 8, 9):
        cv2.imwrite(str(tmp_path / f"frame{i}.png"), np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "info.txt").write_text("not a frame")
    assert [os.path.basename(p) for p in video_io.frame_files(str(tmp_path))] == [
        f"frame{i}.png" for i in range(1, 13)]


def test_frame_folders_are_the_folders_that_hold_images(tmp_path):
    """Frame folders are found at any depth, labelled by their parent; others are not."""
    for clip in ("jump/clip_b", "jump/clip_a", "walk/x/clip_c"):
        os.makedirs(tmp_path / clip)
        cv2.imwrite(str(tmp_path / clip / "frame1.png"), np.zeros((4, 4, 3), np.uint8))
    os.makedirs(tmp_path / "empty_folder")
    (tmp_path / "walk" / "readme.txt").write_text("no images")
    videos, classes = sources.list_videos(str(tmp_path), "frame_folders", labels=True)
    assert [(v.relpath, v.label) for v in videos] == [
        ("jump/clip_a", 0), ("jump/clip_b", 0), ("walk/x/clip_c", 1)]
    assert classes == ["jump", "x"]


def test_missing_path_or_no_videos_is_a_data_error(tmp_path):
    """A path that does not exist, or a folder without videos, raises a one-line DataError."""
    with pytest.raises(DataError, match="does not exist"):
        sources.list_videos(str(tmp_path / "nope"), "video_files")
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / "image.png").write_bytes(b"")
    with pytest.raises(DataError, match="no video files"):
        make_dataset(cfg(tmp_path), 2)
    with pytest.raises(DataError, match="no folders of images"):
        make_dataset(cfg(tmp_path / "*.txt", source="frame_folders"), 2)


# --- the split by video ----------------------------------------------------------------------
def test_split_is_by_video_disjoint_covering_stable_and_seeded(tmp_path):
    """Train and test partition the videos; a new video moves no other; the seed matters."""
    for i in range(40):
        os.makedirs(tmp_path / f"c{i % 3}", exist_ok=True)
        (tmp_path / f"c{i % 3}" / f"v{i}.mp4").write_bytes(b"")
    videos, _ = sources.list_videos(str(tmp_path), "video_files")
    train = sources.select_split(videos, "train", seed=0, test_fraction=0.3)
    test = sources.select_split(videos, "test", seed=0, test_fraction=0.3)
    assert train and test
    assert {v.relpath for v in train}.isdisjoint({v.relpath for v in test})
    assert sorted(v.relpath for v in train + test) == sorted(v.relpath for v in videos)
    assert sources.select_split(videos, "all", 0, 0.3) == videos

    (tmp_path / "c1" / "new.mp4").write_bytes(b"")
    more, _ = sources.list_videos(str(tmp_path), "video_files")
    test_after = {v.relpath for v in sources.select_split(more, "test", 0, 0.3)}
    assert test_after - {"c1/new.mp4"} == {v.relpath for v in test}
    # The split depends on the relative path only, not on where the dataset lives.
    moved = [sources.Video("/elsewhere/" + v.relpath, v.relpath, -1) for v in videos]
    assert [v.relpath for v in sources.select_split(moved, "test", 0, 0.3)] == [
        v.relpath for v in test]
    other_seed = {v.relpath for v in sources.select_split(videos, "test", 1, 0.3)}
    assert other_seed != {v.relpath for v in test}


@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.5])
def test_test_fraction_is_respected(fraction):
    """About test_fraction of 200 videos land in test (within 4 binomial sigmas), any seed."""
    relpaths = [f"class{i % 7}/video_{i:03d}.mp4" for i in range(200)]
    sigma = (200 * fraction * (1 - fraction)) ** 0.5
    for seed in (0, 1, 2):
        flags = sources.is_test(relpaths, seed, fraction)
        assert abs(sum(flags) - 200 * fraction) < 4 * sigma, (seed, sum(flags))
    assert sources.is_test(relpaths[:5] + relpaths[5:], 0, fraction) == sources.is_test(
        relpaths, 0, fraction)
    assert not any(sources.is_test(relpaths, 0, 0.0))


def test_scan_of_each_split_is_disjoint_and_empty_split_is_a_data_error(library):
    """The probed train and test videos partition the folder; an empty split is a DataError."""
    train = pipeline.scan_for(cfg(library, split="train", test_fraction=0.5))
    test = pipeline.scan_for(cfg(library, split="test", test_fraction=0.5))
    assert sorted(v.relpath for v in train.videos + test.videos) == sorted(LIBRARY)
    with pytest.raises(DataError, match="test split .* is empty"):
        pipeline.scan_for(cfg(library, split="test", test_fraction=0.0))


# --- probing and skipped videos --------------------------------------------------------------
def test_probe_reports_frames_fps_and_size(tmp_path):
    """probe() of a written .avi and of a frame folder gives its frames, fps and size."""
    info = video_io.probe(write_indexed_avi(tmp_path / "v.avi", num_frames=12, fps=30.0))
    assert info == video_io.VideoInfo(frames=12, fps=30.0, width=W, height=H)
    os.makedirs(tmp_path / "clip")
    for i in range(5):
        cv2.imwrite(str(tmp_path / "clip" / f"f{i}.png"), np.zeros((10, 20, 3), np.uint8))
    assert video_io.probe(str(tmp_path / "clip"), default_fps=7.0) == video_io.VideoInfo(
        5, 7.0, 20, 10)


def test_each_broken_video_is_skipped_with_its_reason_and_counted(tmp_path):
    """Zero bytes, text, noise, too short and too large are skipped, counted by reason."""
    write_indexed_avi(tmp_path / "good1.avi", video_id=1)
    write_indexed_avi(tmp_path / "good2.avi", video_id=2)
    expected = write_broken(tmp_path / "broken")
    config = cfg(tmp_path, max_resolution=100)
    report = pipeline.scan_for(config)
    assert sorted(v.relpath for v in report.videos) == ["good1.avi", "good2.avi"]
    assert report.reason_counts() == expected
    reasons = dict((os.path.basename(p), r) for p, r in report.skipped)
    assert reasons["empty.mp4"] == "empty file (0 bytes)"
    assert reasons["huge.avi"] == "absurd resolution: 128x96"
    assert reasons["short.avi"] == "too short: 2 frames, a clip needs 4"
    assert health(config) == {
        "videos_usable": 2, "videos_skipped": 5, "skipped/empty_file": 1,
        "skipped/not_a_video_OpenCV_can_open": 2, "skipped/too_short": 1,
        "skipped/absurd_resolution": 1}
    # With a larger clip span the 30-frame videos are too short as well: (T-1)*stride+1.
    assert sources.check(report.videos[0], min_frames=31, max_resolution=100,
                         default_fps=8.0) == (None, "too short: 30 frames, a clip needs 31")
    clips = batches(config, 4, 2)
    assert set(video_ids(np.concatenate([b["video"] for b in clips]))) == {1, 2}


def test_truncated_video_is_skipped_while_decoding_and_the_stream_continues(tmp_path):
    """A truncated copy probes fine, yields no clip, is counted once, and training data flows."""
    for i, name in enumerate(("a", "b", "c", "d")):
        write_indexed_avi(tmp_path / name / f"{name}.avi", video_id=i)
    write_truncated(str(tmp_path / "a" / "a.avi"), tmp_path / "t" / "t.avi")
    config = cfg(tmp_path, labels=True)
    assert len(pipeline.scan_for(config).videos) == 5  # the truncated file probes OK
    assert health(config)["videos_skipped"] == 0
    # 4 epochs of 5 videos: the 16 clips of the 4 good videos, none of the truncated one.
    got = batches(config, 4, 4)
    labels = np.concatenate([b["label"] for b in got])
    assert sorted(labels.tolist()) == sorted([0, 1, 2, 3] * 4)
    assert list(video_ids(np.concatenate([b["video"] for b in got]))) == list(labels)
    assert health(config) == {"videos_usable": 4, "videos_skipped": 1, "skipped/truncated": 1}


def test_header_that_overstates_the_length_is_used_with_the_frames_it_has(tmp_path):
    """An .avi whose header claims 444 frames and that decodes to 30 (the kind users have)
    is not skipped: its clips are re-planned on the 30 frames (measured once), uniform
    offsets spread over those, and a clip longer than 30 frames skips it as truncated."""
    path = overstate_avi_length(write_indexed_avi(tmp_path / "v" / "long.avi", video_id=2), 444)
    write_indexed_avi(tmp_path / "w" / "ok.avi", video_id=1)
    assert video_io.probe(path).frames == 444
    config = cfg(tmp_path, num_frames=4, clip_offsets="uniform", clips_per_video=3)
    got = np.concatenate([b["video"] for b in batches(config, 6, 4)])
    ids = video_ids(got)
    assert (ids == 2).sum() == 12 and (ids == 1).sum() == 12
    indices = frame_indices(got[ids == 2])
    # Uniform offsets over 30 frames, not 444: starts 0, 13, 26.
    assert sorted({int(s) for s in indices[:, 0]}) == [0, 13, 26]
    assert (indices == indices[:, :1] + np.arange(4)).all()
    assert health(config) == {"videos_usable": 2, "videos_skipped": 0}
    assert pipeline.reader_for(config).decoded_frames == {path: 30}

    longer = cfg(tmp_path, num_frames=31, frame_stride=1)
    # Neither 30-frame video holds a 31-frame clip: the stream fails (inside tf.data; the
    # training loop turns it into a DataError line) naming the truncated one.
    with pytest.raises(tf.errors.InvalidArgumentError) as error:
        batches(longer, 2, 1)
    assert "DataError" in str(error.value) and "1 truncated" in str(error.value)


def test_nothing_usable_is_a_one_line_data_error_with_counts(tmp_path):
    """Only broken files: make_dataset raises DataError, in one line, naming the counts."""
    write_broken(tmp_path)
    with pytest.raises(DataError) as error:
        make_dataset(cfg(tmp_path, max_resolution=100), 4)
    message = str(error.value)
    assert "\n" not in message
    assert "0 videos usable, 5 skipped" in message
    for part in ("1 absurd resolution", "1 empty file", "2 not a video OpenCV can open",
                 "1 too short"):
        assert part in message


def test_cli_train_on_unusable_videos_fails_in_one_line(tmp_path):
    """`vidgan train` on a folder of broken videos exits 1 with one error line, no traceback."""
    write_broken(tmp_path / "videos")
    result = vidgan("train", f"--config={TINY}", f"--workdir={tmp_path / 'run'}",
                    "--config.data.source=video_files",
                    f"--config.data.path={tmp_path / 'videos'}",
                    "--config.data.max_resolution=100")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("vidgan train:")]
    assert len(errors) == 1 and errors[0] == result.stderr.strip().splitlines()[-1]
    assert errors[0].startswith("vidgan train: error: no usable videos in ")
    assert "0 videos usable, 5 skipped" in errors[0]


def test_health_adds_scan_and_decode_skips_of_the_same_reason(tmp_path):
    """A video too short at scan plus one too short at decode time count as 2 too_short."""
    write_indexed_avi(tmp_path / "good.avi", num_frames=30, fps=30.0)
    write_indexed_avi(tmp_path / "tiny.avi", num_frames=2, fps=30.0)  # < T: skipped by the scan
    # >= T frames passes the scan, but at 30 fps / target 10 a clip spans 3*3+1 = 10 frames.
    write_indexed_avi(tmp_path / "short_at_30fps.avi", num_frames=8, fps=30.0)
    config = cfg(tmp_path, target_fps=10.0)
    batches(config, 2, 3)
    counts = health(config)
    assert counts["videos_skipped"] == 2 and counts["videos_usable"] == 1
    # Scan and decode counts of the same reason add up.
    assert counts["skipped/too_short"] == 2, counts


# --- clips ------------------------------------------------------------------------------------
def test_clip_shape_dtype_range_and_labels(library):
    """Batches are float32 [B, T, H, W, 3] in [-1, 1] with int32 labels of each video's class."""
    config = cfg(library, labels=True, num_frames=8, height=32, width=24)
    spec = make_dataset(config, 3).element_spec
    assert spec["video"].shape.as_list() == [3, 8, 32, 24, 3]
    assert spec["label"].dtype == tf.int32
    (batch,) = batches(config, 5, 1)
    video = batch["video"]
    assert video.dtype == np.float32 and video.shape == (5, 8, 32, 24, 3)
    assert -1.0 <= video.min() and video.max() <= 1.0 and video.max() - video.min() > 1.5
    assert batch["label"].dtype == np.int32
    classes = list(LIBRARY.values())
    assert batch["label"].tolist() == [classes[i] for i in video_ids(video)]
    assert "label" not in make_dataset(cfg(library), 2).element_spec


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_frames_in_order_with_frame_stride(library, stride):
    """A uniform clip of a 30-frame video holds frames (30 - span) // 2 + k * stride, in order."""
    config = cfg(library, frame_stride=stride, clip_offsets="uniform")
    span = 3 * stride + 1
    start = (30 - span) // 2
    (batch,) = batches(config, 5, 1)
    assert frame_indices(batch["video"]).tolist() == [
        [start + k * stride for k in range(4)]] * 5


def test_target_fps_sets_the_stride_of_each_video(tmp_path):
    """At target_fps=10 a 30 fps video is read every 3rd frame and a 10 fps video every frame."""
    write_indexed_avi(tmp_path / "fast.avi", fps=30.0, video_id=0)
    write_indexed_avi(tmp_path / "slow.avi", fps=10.0, video_id=1)
    config = cfg(tmp_path, target_fps=10.0, clip_offsets="uniform", frame_stride=5)
    assert pipeline.stride_for(config, 30.0) == 3 and pipeline.stride_for(config, 29.97) == 3
    assert pipeline.stride_for(config, 5.0) == 1 and pipeline.stride_for(cfg(tmp_path), 30) == 1
    (batch,) = batches(config, 4, 1)
    for video_id, indices in zip(video_ids(batch["video"]), frame_indices(batch["video"])):
        expected = [10, 13, 16, 19] if video_id == 0 else [13, 14, 15, 16]
        assert indices.tolist() == expected, video_id


def test_frame_folder_clips_follow_numeric_frame_order(tmp_path):
    """frame1..frame12.png decode in numeric order (lexicographic would start frame1, frame10)."""
    os.makedirs(tmp_path / "cls" / "clip")
    for i in range(12):
        cv2.imwrite(str(tmp_path / "cls" / "clip" / f"frame{i + 1}.png"),
                    cv2.cvtColor(frame(i, video_id=2), cv2.COLOR_RGB2BGR))
    config = cfg(tmp_path, source="frame_folders", frame_stride=3, clip_offsets="uniform",
                 labels=True)
    (batch,) = batches(config, 2, 1)
    # span 3*3+1 = 10 of 12 frames: the middle clip starts at frame index 1. Lossless PNGs.
    assert frame_indices(batch["video"]).tolist() == [[1, 4, 7, 10]] * 2
    assert batch["label"].tolist() == [0, 0]
    assert video_ids(batch["video"]).tolist() == [2, 2]


def test_clip_starts_by_hand():
    """clip_starts: random, uniform and all offsets for hand-computed cases."""
    rng = np.random.default_rng(0)
    assert pipeline.clip_starts(30, 7, "uniform", 1, rng) == [11]
    assert pipeline.clip_starts(30, 7, "uniform", 3, rng) == [0, 12, 23]
    assert pipeline.clip_starts(20, 4, "uniform", 4, rng) == [0, 5, 11, 16]
    assert pipeline.clip_starts(30, 7, "all", 1, rng) == [0, 7, 14, 21]
    assert pipeline.clip_starts(28, 7, "all", 9, rng) == [0, 7, 14, 21]
    assert pipeline.clip_starts(27, 7, "all", 1, rng) == [0, 7, 14]
    for mode in ("random", "uniform", "all"):
        assert pipeline.clip_starts(7, 7, mode, 1, rng) == [0]
        assert pipeline.clip_starts(6, 7, mode, 2, rng) == []
    assert pipeline.clip_starts(7, 7, "random", 3, rng) == [0, 0, 0]
    draws = pipeline.clip_starts(10, 4, "random", 500, rng)
    assert draws == sorted(draws) and set(draws) == set(range(7))
    with pytest.raises(ValueError, match="unknown clip offset mode"):
        pipeline.clip_starts(10, 4, "middle", 1, rng)


def test_clip_offsets_uniform_random_and_all_in_the_stream(tmp_path):
    """uniform: evenly spaced clips per visit; random: varied valid starts; all: every clip."""
    write_indexed_avi(tmp_path / "v.avi", num_frames=30)
    first = lambda clips: frame_indices(clips)[:, 0].tolist()  # noqa: E731
    # T=4, stride 2: span 7, last start 23.
    uniform = batches(cfg(tmp_path, frame_stride=2, clip_offsets="uniform",
                          clips_per_video=3), 3, 2)
    assert [first(b["video"]) for b in uniform] == [[0, 12, 23]] * 2
    # all: floor(30 / 7) = 4 non-overlapping clips per visit, the same every epoch.
    every = batches(cfg(tmp_path, frame_stride=2, clip_offsets="all", clips_per_video=3), 4, 3)
    assert [first(b["video"]) for b in every] == [[0, 7, 14, 21]] * 3
    # random: clips_per_video sorted starts per element, all valid, varying between visits.
    rand = batches(cfg(tmp_path, frame_stride=2, clips_per_video=2), 2, 8)
    starts = [first(b["video"]) for b in rand]
    assert all(s == sorted(s) and 0 <= s[0] and s[-1] <= 23 for s in starts)
    assert len({tuple(s) for s in starts}) > 4
    for b in rand:
        indices = frame_indices(b["video"])
        assert (np.diff(indices, axis=1) == 2).all()


def test_center_crop_keeps_the_center_and_stretch_keeps_the_whole_frame(library):
    """48x64 -> 16x16: center_crop drops the outer columns evenly; stretch keeps them."""
    crop = green_columns(batches(cfg(library), 5, 1)[0]["video"])
    stretch = green_columns(batches(cfg(library, resize="stretch"), 5, 1)[0]["video"])
    # The green ramp is 255 * x / 63; a center crop of 48 of 64 columns keeps x in [8, 56).
    assert (20 < crop[:, 0]).all() and (crop[:, 0] < 55).all()
    assert (200 < crop[:, -1]).all() and (crop[:, -1] < 235).all()
    assert np.allclose(crop[:, 0] + crop[:, -1], 255, atol=12)
    assert (stretch[:, 0] < 15).all() and (stretch[:, -1] > 240).all()
    assert (np.diff(crop, axis=1) > 0).all() and (np.diff(stretch, axis=1) > 0).all()


def test_random_crop_varies_across_elements_and_is_seeded(library):
    """random_crop takes different columns per element, the same ones for the same seed."""
    def left_columns(seed):
        got = batches(cfg(library, resize="random_crop", seed=seed), 5, 2)
        return np.concatenate([green_columns(b["video"])[:, 0] for b in got])

    left = left_columns(0)
    assert np.array_equal(left, left_columns(0))
    assert not np.allclose(left, left_columns(1))
    # 48x64 -> 16x22 then 16 of 22 columns: the first kept column varies over 0..6.
    assert len(np.unique(np.round(left / 11.6))) >= 3, left
    assert left.min() < 20 and left.max() < 90


def test_flip_mirrors_some_clips_and_is_seeded(library):
    """With flip, each clip is the unflipped clip or its mirror image; both occur; seeded."""
    plain = np.concatenate([b["video"] for b in batches(cfg(library, seed=3), 5, 2)])
    flipped = np.concatenate([b["video"] for b in batches(cfg(library, seed=3, flip=True),
                                                          5, 2)])
    mirrored = [np.array_equal(f, p[:, :, ::-1]) for f, p in zip(flipped, plain)]
    same = [np.array_equal(f, p) for f, p in zip(flipped, plain)]
    assert all(m != s for m, s in zip(mirrored, same))
    assert 0 < sum(mirrored) < len(mirrored)
    ramps = green_columns(flipped)
    assert all((np.diff(r) < 0).all() == m for r, m in zip(ramps, mirrored))
    again = np.concatenate([b["video"] for b in batches(cfg(library, seed=3, flip=True), 5, 2)])
    assert np.array_equal(flipped, again)


def test_same_seed_same_batches_and_another_seed_differs(library):
    """Two datasets of one config give identical batches; another data.seed does not."""
    a = batches(cfg(library, labels=True, clips_per_video=2), 4, 3)
    b = batches(cfg(library, labels=True, clips_per_video=2), 4, 3)
    c = batches(cfg(library, labels=True, clips_per_video=2, seed=7), 4, 3)
    for x, y in zip(a, b):
        assert np.array_equal(x["video"], y["video"]) and np.array_equal(x["label"], y["label"])
    assert not all(np.array_equal(x["video"], z["video"]) for x, z in zip(a, c))


def test_batches_do_not_depend_on_how_many_videos_decode_at_once(library):
    """decode_parallelism changes speed only: 1, 2 and auto give the same stream."""
    streams = [batches(cfg(library, labels=True, flip=True, decode_parallelism=n), 4, 3)
               for n in (1, 2, 0)]
    for other in streams[1:]:
        for x, y in zip(streams[0], other):
            assert np.array_equal(x["video"], y["video"])
            assert np.array_equal(x["label"], y["label"])


def test_decode_calls_is_the_setting_or_three_per_core(monkeypatch):
    assert pipeline.decode_calls(DataConfig(decode_parallelism=5)) == 5
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert pipeline.decode_calls(DataConfig()) == 6
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert pipeline.decode_calls(DataConfig()) == 16  # bounded: decoded clips wait in memory


@pytest.mark.parametrize("clips_per_video", [1, 2])
def test_start_index_continues_the_same_stream(library, clips_per_video):
    """The first batch from start_index=B (clips) is the second batch from 0."""
    config = cfg(library, labels=True, clips_per_video=clips_per_video)
    from_zero = batches(config, 4, 3)
    resumed = batches(config, 4, 2, start_index=4)
    for x, y in zip(from_zero[1:], resumed):
        assert np.array_equal(x["video"], y["video"]) and np.array_equal(x["label"], y["label"])


def test_start_index_continues_the_stream_with_all_offsets(library):
    """clip_offsets=all, videos of 4 clips each: the batch from start_index=4 is batch 2 from 0."""
    config = cfg(library, clip_offsets="all", frame_stride=2)  # 4 clips per video
    from_zero = batches(config, 4, 2)
    resumed = batches(config, 4, 1, start_index=4)
    assert np.array_equal(from_zero[1]["video"], resumed[0]["video"])


def test_every_epoch_visits_every_video_exactly_once(library):
    """Each run of N = 5 consecutive elements holds every video once, in a new order."""
    got = batches(cfg(library), 5, 4)
    epochs = [video_ids(b["video"]).tolist() for b in got]
    assert all(sorted(e) == [0, 1, 2, 3, 4] for e in epochs), epochs
    assert len({tuple(e) for e in epochs}) > 1, epochs
    # With clips_per_video=2 the two clips of an element come from the same video.
    pairs = video_ids(batches(cfg(library, clips_per_video=2), 10, 1)[0]["video"])
    assert sorted(pairs[::2].tolist()) == [0, 1, 2, 3, 4]
    assert np.array_equal(pairs[::2], pairs[1::2])


def test_one_video_dataset_repeats_it(tmp_path):
    """A single video file as data.path gives an endless stream of its clips."""
    path = write_indexed_avi(tmp_path / "only.avi", video_id=3)
    got = batches(cfg(path), 3, 2)
    assert all(video_ids(b["video"]).tolist() == [3, 3, 3] for b in got)


def test_frame_folder_with_an_odd_sized_image_is_skipped_not_fatal(tmp_path):
    """A frame folder whose images differ in size is skipped like any unreadable video."""
    for name, odd in (("good", False), ("odd", True)):
        os.makedirs(tmp_path / name)
        for i in range(6):
            image = frame(i, video_id=1)
            if odd and i == 3:
                image = image[:32, :32]
            cv2.imwrite(str(tmp_path / name / f"frame{i + 1}.png"),
                        cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR))
    config = cfg(tmp_path, source="frame_folders", clip_offsets="uniform", num_frames=6)
    try:
        got, died = batches(config, 2, 1), ""
    except tf.errors.InvalidArgumentError as e:
        got, died = None, str(e).split("\n")[0][-160:]
    if died:  # failed outside the except: pytest can crash (INTERNALERROR) on TF's traceback
        pytest.fail(f"the pipeline died: {died}", pytrace=False)
    (batch,) = got
    assert frame_indices(batch["video"]).tolist() == [list(range(6))] * 2
    assert health(config)["videos_skipped"] == 1


def test_cli_train_when_every_video_fails_while_decoding_fails_in_one_line(tmp_path):
    """Only truncated videos (they probe fine): `vidgan train` exits 1 in one line, no hang."""
    good = write_indexed_avi(tmp_path / "good.avi")
    write_truncated(good, tmp_path / "videos" / "t1.avi")
    write_truncated(good, tmp_path / "videos" / "t2.avi")
    try:
        result = vidgan("train", f"--config={TINY}", f"--workdir={tmp_path / 'run'}",
                        "--config.data.source=video_files",
                        f"--config.data.path={tmp_path / 'videos'}", timeout=90)
    except subprocess.TimeoutExpired:
        pytest.fail("hung: every clip fails, the endless stream spins without raising",
                    pytrace=False)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("vidgan train: error: ") and "2 truncated" in last, last
    assert len([line for line in result.stderr.splitlines()
                if line.startswith("vidgan train:")]) == 1


# --- TensorBoard -----------------------------------------------------------------------------
def test_training_writes_data_health_scalars(library, tmp_path):
    """A tiny run on videos incl. an empty and a truncated file logs data/* health scalars."""
    from vidgan.training import Trainer  # noqa: PLC0415

    root = tmp_path / "videos"
    for relpath in ("jump/a.avi", "run/c.avi", "walk/d.avi"):
        os.makedirs(root / os.path.dirname(relpath), exist_ok=True)
        shutil.copy(os.path.join(library, relpath), root / relpath)
    (root / "run" / "empty.mp4").write_bytes(b"")
    write_truncated(os.path.join(library, "walk/e.avi"), root / "walk" / "cut.avi")
    c = config_lib.make_tiny(config_lib.default_config())
    c.data.source, c.data.path, c.data.split = "video_files", str(root), "all"
    c.model.dcgan3d.generator.z_dim = 16
    trainer = Trainer(config_lib.from_dict(c), str(tmp_path / "run"),
                      tf.distribute.OneDeviceStrategy("/cpu:0"))
    assert trainer.train() == 4
    events = read_events(str(tmp_path / "run"))
    expected = {"data/videos_usable": 3, "data/videos_skipped": 2,
                "data/skipped/empty_file": 1, "data/skipped/truncated": 1}
    for tag, value in expected.items():
        assert [(s, float(v)) for s, v in events.get(tag, [])] == [(2, value), (4, value)], tag
    assert not [t for t in events if t.startswith("data/") and t not in expected
                and t != "data/real"]


# --- the shared real clips -------------------------------------------------------------------
def test_shared_real_videos_probe_and_yield_clips():
    """Each of the 12 real files (mp4, avi, mkv, webm, gif) probes and gives an 8x32x32 clip."""
    paths = require_shared_videos()
    assert len(paths) == 12
    assert {os.path.splitext(p)[1] for p in paths} == {".mp4", ".avi", ".mkv", ".webm", ".gif"}
    for path in paths:
        info = video_io.probe(path)
        assert info.frames >= 8 and info.width >= 32 and info.height >= 32, (path, info)
        config = cfg(path, num_frames=8, height=32, width=32, clip_offsets="uniform")
        (batch,) = batches(config, 1, 1)
        video = batch["video"]
        assert video.shape == (1, 8, 32, 32, 3) and video.dtype == np.float32, path
        assert -1 <= video.min() and video.max() <= 1 and video.std() > 0.02, path
        assert health(config) == {"videos_usable": 1, "videos_skipped": 0}, path


def test_shared_real_videos_decode_the_same_frames_on_one_ffmpeg_thread():
    """The pipeline decodes on one FFmpeg thread: frames equal FFmpeg's default threading."""
    for path in require_shared_videos():
        indices = [0, 3, 7, 7, 20]
        if video_io.probe(path).frames <= 20:
            indices = [0, 3, 7, 7]
        one = video_io.read_frames(path, indices, threads=1)
        assert np.array_equal(one, video_io.read_frames(path, indices)), path


def test_shared_real_videos_decode_a_clip_at_their_probed_end():
    """Uniform offsets, 2 clips: the clip ending at the probed last frame decodes, every file."""
    # decord_flipping_a_pancake.mkv probes 311 frames (the container's estimate) but decodes
    # 310: its clip at the probed end must still decode, and the video must not count as
    # skipped (fails at d01854e: 'truncated').
    paths = require_shared_videos()
    config = cfg(SHARED_VIDEOS, num_frames=8, clip_offsets="uniform", clips_per_video=2)
    videos = [sources.Video(p, os.path.basename(p), -1, video_io.probe(p)) for p in paths]
    reader = pipeline.ClipReader(config, videos)
    for i, video in enumerate(videos):
        clips, _ = reader(i, 0)
        assert clips.shape[:2] == (2, 8), (video.relpath, dict(reader.failures))
    assert not reader.failed, reader.failed
