"""TFRecord shards: `prepare` (counts, skip reasons, dataset.json, stats), the graph-native
reader (same clips as the direct decode path, labels, split, seeds, resume, no Python in
the graph), training on shards, and the `vidgan prepare` CLI."""

import dataclasses
import glob
import itertools
import json
import os
import shutil

import cv2
import numpy as np
import pytest
import tensorflow as tf

from data_pipelines import describe
from data_pipelines import prepare as prepare_lib
from helpers import SHARED_VIDEOS, require_shared_videos, vidgan, write_truncated, write_video
from vidgan import config as config_lib
from vidgan.config import DataConfig
from vidgan.data import make_dataset, pipeline, sources, tfrecord, video_io
from vidgan.data import records as records_lib

CLEAN = {"cats/a.avi": (40, 40, 30), "cats/b.avi": (30, 48, 32), "dogs/c.avi": (24, 32, 40)}


def frames_for(n, width, height, seed):
    """uint8 [n, height, width, 3] BGR: smooth color fields with a bar moving per frame
    (every frame differs; smooth enough that MJPG keeps the picture)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(40, 200, (2, 2, 3)).astype(np.uint8)
    field = cv2.resize(base, (width, height), interpolation=cv2.INTER_LINEAR)
    out = np.repeat(field[None], n, axis=0)
    for t in range(n):
        out[t, :, (t * 3) % width] = (255, 255, 255)
        out[t, t % height, :, 1] = 0
    return out


def write_bar_avi(path, n, width, height, seed=0):
    write_video(path, frames_for(n, width, height, seed)[..., ::-1], 12.0)  # BGR -> RGB


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """clean/: 3 MJPG avis in class folders; mixed/: the same plus broken files;
    frames/: 2 frame folders of PNGs (frame1.png ... frame20.png: natural order)."""
    root = tmp_path_factory.mktemp("videos")
    clean, mixed, frames = root / "clean", root / "mixed", root / "frames"
    for i, (rel, (n, w, h)) in enumerate(CLEAN.items()):
        write_bar_avi(str(clean / rel), n, w, h, seed=i)
    shutil.copytree(clean, mixed)
    (mixed / "cats" / "empty.mp4").write_bytes(b"")
    (mixed / "dogs" / "text.mp4").write_text("not a video at all\n" * 20)
    write_video(root / "full.mp4", frames_for(30, 32, 24, seed=9)[..., ::-1], 12.0, "mp4v")
    write_truncated(root / "full.mp4", mixed / "dogs" / "trunc.mp4", 0.3)  # moov lost
    write_truncated(clean / "cats" / "a.avi", mixed / "cats" / "trunc.avi", 0.3)
    write_bar_avi(str(mixed / "cats" / "one.avi"), 1, 40, 30)
    for name, n in (("vid1", 20), ("vid2", 12)):
        os.makedirs(frames / name)
        for t, frame in enumerate(frames_for(n, 24, 20, seed=len(name) + n)):
            cv2.imwrite(str(frames / name / f"frame{t + 1}.png"), frame)
    return {"clean": str(clean), "mixed": str(mixed), "frames": str(frames),
            "root": str(root)}


@pytest.fixture(scope="module")
def mixed_out(folders, tmp_path_factory):
    """prepare() of mixed/ (JPEG, labels, 2 shards) and its summary."""
    out = str(tmp_path_factory.mktemp("mixed_out"))
    summary = prepare_lib.prepare(folders["mixed"], out, labels=True, num_shards=2,
                                  progress=False)
    return out, summary


@pytest.fixture(scope="module")
def clean_out(folders, tmp_path_factory):
    """prepare() of clean/ into ONE shard (the shard order cannot shuffle anything)."""
    out = str(tmp_path_factory.mktemp("clean_out"))
    prepare_lib.prepare(folders["clean"], out, num_shards=1, progress=False)
    return out


def tiny(**kwargs):
    base = dict(source="tfrecord", num_frames=8, height=16, width=16, split="all")
    return DataConfig(**{**base, **kwargs})


def clips(config, batch_size, n, start_index=0, key="video"):
    ds = make_dataset(config, batch_size, start_index)
    return [b[key].numpy() for b in itertools.islice(ds, n)]


# --- prepare ---------------------------------------------------------------------------------
def test_prepare_counts_skips_by_reason_and_writes_shards_and_metadata(folders, mixed_out):
    """4 usable (3 clean + a truncated avi kept with the frames before its end), 4 skipped
    with their reasons; shards round-robin; dataset.json describes every video."""
    out, s = mixed_out
    assert s["videos_ok"] == 4 and s["videos_skipped"] == 4
    assert s["skipped"] == {"empty file": 1, "not a video OpenCV can open": 2, "too short": 1}
    reasons = {os.path.basename(p): r for p, r in s["skipped_files"]}
    assert reasons["empty.mp4"] == "empty file (0 bytes)"
    assert reasons["one.avi"] == "too short: 1 frames, a clip needs 2"
    assert set(reasons) == {"empty.mp4", "text.mp4", "trunc.mp4", "one.avi"}
    [(path, decoded, expected)] = s["truncated_files"]
    assert path.endswith("trunc.avi") and 2 <= decoded < expected == 40
    assert s["frames"] == 40 + 30 + 24 + decoded
    assert s["clips"] == 40 // 16 + 30 // 16 + 24 // 16 + decoded // 16 == 4
    assert [os.path.basename(p) for p in s["shards"]] == [
        "videos-00000-of-00002.tfrecord", "videos-00001-of-00002.tfrecord"]
    assert s["bytes"] == sum(os.path.getsize(p) for p in s["shards"]) > 0
    with open(os.path.join(out, "dataset.json")) as f:
        meta = json.load(f)
    assert meta["class_names"] == ["cats", "dogs"] and meta["num_videos"] == 4
    assert meta["image_format"] == "jpeg" and meta["arguments"]["num_shards"] == 2
    assert [v["source"] for v in meta["videos"]] == [
        "cats/a.avi", "cats/b.avi", "cats/trunc.avi", "dogs/c.avi"]
    assert [v["shard"][:14] for v in meta["videos"]] == ["videos-00000-o", "videos-00001-o"] * 2
    assert [(v["frames"], v["width"], v["height"], v["label"]) for v in meta["videos"]] == [
        (40, 40, 30, 0), (30, 48, 32, 0), (decoded, 40, 30, 0), (24, 32, 40, 1)]
    assert len(meta["skipped"]) == 4 and not glob.glob(os.path.join(out, ".tmp-*"))


def test_records_hold_every_frame_as_decoded(folders, tmp_path):
    """PNG records decode to exactly video_io.read_frames of every frame; JPEG ones are
    close; shorter_side resizes (portrait c.avi 32x40 -> 16x20); label fields."""
    png, jpeg = str(tmp_path / "png"), str(tmp_path / "jpeg")
    prepare_lib.prepare(folders["clean"], png, labels=True, image_format="png",
                        num_shards=1, progress=False)
    prepare_lib.prepare(folders["clean"], jpeg, image_format="jpeg", shorter_side=16,
                        num_shards=3, progress=False)
    [shard] = records_lib.find_shards(png)
    for record, (rel, (n, w, h)) in zip(tf.data.TFRecordDataset(shard), CLEAN.items()):
        ex = tf.io.parse_single_example(record, records_lib.FEATURES)
        assert ex["source"].numpy().decode() == rel
        assert (int(ex["frame_count"]), int(ex["width"]), int(ex["height"])) == (n, w, h)
        assert ex["label_name"].numpy().decode() == rel.split("/")[0]
        assert float(ex["fps"]) == 12.0 and ex["format"].numpy() == b"png"
        stored = np.stack([tf.io.decode_png(b).numpy() for b in ex["frames"].values])
        expected = video_io.read_frames(os.path.join(folders["clean"], rel), list(range(n)))
        np.testing.assert_array_equal(stored, expected)
    records = records_lib.scan_records(records_lib.find_shards(jpeg))
    assert sorted((r["source"], r["width"], r["height"], r["label"]) for r in records) == [
        ("cats/a.avi", 21, 16, -1), ("cats/b.avi", 24, 16, -1), ("dogs/c.avi", 16, 20, -1)]


def test_existing_shards_are_refused_unless_overwrite(folders, tmp_path):
    out = str(tmp_path / "out")
    prepare_lib.prepare(folders["clean"], out, num_shards=3, progress=False)
    with pytest.raises(FileExistsError, match="already holds TFRecord shards"):
        prepare_lib.prepare(folders["clean"], out, progress=False)
    s = prepare_lib.prepare(folders["clean"], out, num_shards=2, overwrite=True,
                            progress=False)
    assert sorted(glob.glob(os.path.join(out, "*.tfrecord"))) == s["shards"]  # old 3 gone
    assert s["videos_ok"] == 3


def test_nothing_usable_is_a_one_line_data_error(folders, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "empty.mp4").write_bytes(b"")
    (broken / "text.mp4").write_text("hello")
    with pytest.raises(sources.DataError) as e:
        prepare_lib.prepare(str(broken), str(tmp_path / "out"), progress=False)
    assert "no usable videos" in str(e.value) and "\n" not in str(e.value)
    assert "1 empty file, 1 not a video OpenCV can open" in str(e.value)
    with pytest.raises(sources.DataError, match="too short: 40 frames"):  # decoded count
        prepare_lib.prepare(folders["clean"] + "/cats/a.avi", str(tmp_path / "o2"),
                            min_frames=41, progress=False)
    assert not os.path.exists(tmp_path / "o2")  # nothing left behind


def test_stats_of_videos_and_of_shards(folders, mixed_out):
    out, summary = mixed_out
    s = describe.stats(folders["mixed"], labels=True)  # probes only: one.avi counts
    assert s["source"] == "videos" and s["videos"] == 5 and s["videos_skipped"] == 3
    assert s["skipped"] == {"empty file": 1, "not a video OpenCV can open": 2}
    assert s["resolutions"] == {"40x30": 3, "48x32": 1, "32x40": 1}
    assert s["fps"] == {"12": 5} and s["classes"] == {"cats": 4, "dogs": 1}
    assert (s["min_frames"], s["max_frames"]) == (1, 40)  # trunc.avi's header says 40
    assert s["frames"] == 40 + 30 + 24 + 40 + 1 and not s["frames_exact"]
    r = describe.stats(out)
    assert r["source"] == "tfrecord" and r["videos"] == 4 and r["frames"] == summary["frames"]
    assert r["skipped"] == summary["skipped"] and r["bytes"] == summary["bytes"]
    assert r["min_frames"] == summary["truncated_files"][0][1] and r["max_frames"] == 40


# --- the reader: same clips as the direct decode path -------------------------------------
def _clip_set(batches, labels=None):
    """Clips (and labels) of every batch as sorted (bytes, label) pairs."""
    videos = np.concatenate(batches)
    labels = np.concatenate(labels) if labels is not None else [-1] * len(videos)
    return sorted((v.tobytes(), int(l)) for v, l in zip(videos, labels))


@pytest.mark.parametrize("kind,offsets,stride", [
    ("video_files", "uniform", 1), ("video_files", "all", 2), ("frame_folders", "uniform", 2)])
def test_round_trip_gives_the_clips_of_the_direct_decode_path(folders, tmp_path, kind,
                                                              offsets, stride):
    """With PNG frames, uniform or all offsets, center crops and no flips, the first epoch
    of the TFRecord stream holds exactly the clips (and labels) of the first epoch of
    pipeline.make_dataset; frame folder vid2 (12 frames) is too short at stride 2."""
    src = folders["clean"] if kind == "video_files" else folders["frames"]
    out = str(tmp_path / "out")
    prepare_lib.prepare(src, out, kind=kind, labels=True, image_format="png",
                        shorter_side=0, num_shards=2, progress=False)
    common = dict(num_frames=8, height=16, width=16, clip_offsets=offsets, clips_per_video=2,
                  resize="center_crop", flip=False, split="all", labels=True,
                  frame_stride=stride, seed=5)
    direct = DataConfig(source=kind, path=src, **common)
    shards = DataConfig(source="tfrecord", path=out, **common)
    span = 7 * stride + 1
    lengths = [v.info.frames for v in pipeline.scan_for(direct).videos]
    total = sum(len(pipeline.clip_starts(n, span, offsets, 2, None)) for n in lengths)
    assert len(lengths) == (3 if kind == "video_files" else 1)
    ds_a, ds_b = make_dataset(direct, 1), make_dataset(shards, 1)
    a = list(itertools.islice(ds_a.as_numpy_iterator(), total))
    b = list(itertools.islice(ds_b.as_numpy_iterator(), total))
    set_a = _clip_set([x["video"] for x in a], [x["label"] for x in a])
    set_b = _clip_set([x["video"] for x in b], [x["label"] for x in b])
    assert len({v for v, _ in set_a}) == total  # distinct clips: the comparison has teeth
    assert set_a == set_b
    expected = {"videos_usable": 3, "videos_skipped": 0} if kind == "video_files" else {
        "videos_usable": 1, "videos_skipped": 1, "skipped/too_short": 1}
    assert tfrecord.health(shards) == expected


def test_clip_starts_match_pipeline_exactly():
    """uniform (NumPy linspace + half-even rounding) and all: equal for every case;
    random: sorted, in range, a function of the seed."""
    for available, span, clips in itertools.product(range(0, 40, 3), (1, 4, 8, 15), (1, 2, 3, 5)):
        for mode in ("uniform", "all"):
            got = tfrecord.clip_starts(tf.constant(available), tf.constant(span), mode, clips,
                                       tf.constant([0, 0], tf.int64)).numpy().tolist()
            assert got == pipeline.clip_starts(available, span, mode, clips, None), (
                mode, available, span, clips)
    draws = [tfrecord.clip_starts(tf.constant(30), tf.constant(8), "random", 4,
                                  tf.constant([1, i], tf.int64)).numpy() for i in range(20)]
    assert all(list(d) == sorted(d) and 0 <= d.min() and d.max() <= 22 for d in draws)
    assert len({d.tobytes() for d in draws}) > 15
    again = tfrecord.clip_starts(tf.constant(30), tf.constant(8), "random", 4,
                                 tf.constant([1, 3], tf.int64)).numpy()
    np.testing.assert_array_equal(again, draws[3])
    assert tfrecord.clip_starts(tf.constant(5), tf.constant(8), "random", 4,
                                tf.constant([1, 3], tf.int64)).numpy().size == 0


def test_stride_from_target_fps_matches_pipeline():
    for fps, target in itertools.product((10.0, 12.0, 25.0, 29.97, 30.0, 50.0),
                                         (0.0, 5.0, 10.0, 12.5, 60.0)):
        config = tiny(target_fps=target, frame_stride=3)
        assert int(tfrecord.stride(config, tf.constant(fps, tf.float32))) == \
            pipeline.stride_for(config, fps), (fps, target)


def test_split_in_the_graph_agrees_with_sources_is_test(tmp_path):
    """The graph hash rule equals sources.is_test; a split=test stream holds exactly the
    test videos (labels identify videos here), split=train the others."""
    paths = [f"class{i % 3}/video_{i}.avi" for i in range(60)]
    for seed, fraction in ((0, 0.3), (7, 0.5)):
        expected = sources.is_test(paths, seed, fraction)
        got = [bool(tfrecord.in_test_split(tf.constant(p), seed, fraction)) for p in paths]
        assert got == expected and 0 < sum(got) < len(got)
    root = tmp_path / "one_per_class"
    for i in range(6):
        write_bar_avi(str(root / f"v{i}" / "clip.avi"), 10, 16, 16, seed=i)
    out = str(tmp_path / "out")
    prepare_lib.prepare(str(root), out, labels=True, num_shards=2, progress=False)
    rel = [f"v{i}/clip.avi" for i in range(6)]
    seed = next(s for s in range(100) if 2 <= sum(sources.is_test(rel, s, 0.4)) <= 4)
    test_ids = {i for i, t in enumerate(sources.is_test(rel, seed, 0.4)) if t}
    for split, wanted in (("test", test_ids), ("train", set(range(6)) - test_ids)):
        config = tiny(path=out, labels=True, split=split, seed=seed, test_fraction=0.4)
        seen = set(np.concatenate(clips(config, 2, 6, key="label")).tolist())
        assert seen == wanted, split
        assert tfrecord.health(config)["videos_usable"] == len(wanted)


# --- the reader: seeds, resume, labels, graph -------------------------------------------------
def test_random_offsets_crops_and_flips_are_seeded(mixed_out):
    out, _ = mixed_out
    config = tiny(path=out, clip_offsets="random", clips_per_video=2, resize="random_crop",
                  flip=True, seed=3)
    a, b = clips(config, 4, 3), clips(config, 4, 3)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    other = clips(dataclasses.replace(config, seed=4), 4, 3)
    assert not all(np.array_equal(x, y) for x, y in zip(a, other))
    assert a[0].shape == (4, 8, 16, 16, 3) and a[0].dtype == np.float32
    assert -1.0 <= a[0].min() < a[0].max() <= 1.0


def test_start_index_resumes_the_stream_across_epochs(mixed_out, clean_out):
    """3 videos are long enough for 8 frames (trunc.avi is not): clip k of a stream from 0
    is clip 0 of a stream from k, also several epochs in."""
    out, _ = mixed_out
    config = tiny(path=out, clip_offsets="random", clips_per_video=1, seed=1)
    stream = np.concatenate(clips(config, 2, 6))  # clips 0..11, 4 epochs of 3 videos
    for start in (2, 7):
        np.testing.assert_array_equal(clips(config, 2, 1, start_index=start)[0],
                                      stream[start:start + 2])
    # Every epoch visits every usable video exactly once, in a new order (uniform offsets:
    # a clip names its video; 3 videos give one batch of 3 per epoch).
    uniform = dataclasses.replace(config, clip_offsets="uniform", path=clean_out)
    epochs = [[c.tobytes() for c in batch] for batch in clips(uniform, 3, 6)]
    assert all(sorted(e) == sorted(epochs[0]) for e in epochs) and len(set(epochs[0])) == 3
    assert len({tuple(e) for e in epochs}) > 1  # shuffled per epoch
    assert [c.tobytes() for c in clips(uniform, 3, 1)[0]] == epochs[0]  # seeded


def test_labels_health_and_errors(folders, mixed_out, tmp_path):
    out, _ = mixed_out
    config = tiny(path=out, labels=True, clip_offsets="uniform")
    ds = make_dataset(config, 3)
    assert ds.element_spec["label"] == tf.TensorSpec([3], tf.int32)
    labels = np.concatenate(clips(config, 3, 2, key="label"))
    assert sorted(set(labels.tolist())) == [0, 1]  # cats, dogs
    assert tfrecord.health(config) == {
        "videos_usable": 3, "videos_skipped": 5, "skipped/empty_file": 1,
        "skipped/not_a_video_OpenCV_can_open": 2, "skipped/too_short": 2}
    with pytest.raises(sources.DataError, match="no TFRecord shards"):
        make_dataset(tiny(path=str(tmp_path)), 2)
    with pytest.raises(sources.DataError, match="no usable videos in the all split"):
        make_dataset(tiny(path=out, num_frames=64), 2)
    unlabelled = str(tmp_path / "unlabelled")
    prepare_lib.prepare(folders["clean"], unlabelled, num_shards=1, progress=False)
    with pytest.raises(sources.DataError, match="have no labels"):
        make_dataset(tiny(path=unlabelled, labels=True), 2)
    # A glob of shards works too, and without dataset.json the records are read instead.
    os.remove(os.path.join(unlabelled, "dataset.json"))
    catalog = records_lib.load_catalog(os.path.join(unlabelled, "videos-*.tfrecord"))
    assert not catalog.from_metadata and len(catalog.videos) == 3
    assert clips(tiny(path=os.path.join(unlabelled, "*.tfrecord")), 2, 1)[0].shape[0] == 2


def test_no_python_in_the_dataset_graph(mixed_out, folders):
    """The TFRecord graph has no PyFunc/EagerPyFunc op (the direct path does: numpy_function)."""
    out, _ = mixed_out
    for offsets in ("random", "uniform", "all"):
        graph = make_dataset(tiny(path=out, clip_offsets=offsets, labels=True, flip=True,
                                  target_fps=6.0), 2)._as_serialized_graph().numpy()
        assert b"PyFunc" not in graph and b"TFRecordDataset" in graph and b"DecodeImage" in graph
    direct = make_dataset(tiny(source="video_files", path=folders["clean"]), 2)
    assert b"PyFunc" in direct._as_serialized_graph().numpy()


def test_trainer_runs_two_steps_on_shards(mixed_out, tmp_path):
    from vidgan.training import Trainer  # noqa: PLC0415

    out, _ = mixed_out
    cfg = config_lib.make_tiny(config_lib.default_config())
    cfg.data.source, cfg.data.path, cfg.data.split = "tfrecord", out, "all"
    cfg.train.steps = 2
    cfg.model.dcgan3d.generator.z_dim = 16
    workdir = str(tmp_path / "run")
    trainer = Trainer(config_lib.from_dict(cfg), workdir, tf.distribute.OneDeviceStrategy("/cpu:0"))
    assert trainer.train() == 2
    values = {}
    for path in glob.glob(os.path.join(workdir, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for v in event.summary.value:
                values[v.tag] = float(tf.make_ndarray(v.tensor)) if v.tag.startswith(
                    ("data/videos", "loss/d")) else None
    assert values["data/videos_usable"] == 3 and values["data/videos_skipped"] == 5
    assert np.isfinite(values["loss/d"])


# --- the CLI ---------------------------------------------------------------------------------
def test_cli_prepare_and_stats(folders, tmp_path):
    out = str(tmp_path / "out")
    result = vidgan("prepare", f"--input={folders['mixed']}", f"--output={out}", "--labels",
                    "--shards=2", "--image_format=png")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "videos ok: 4" in lines
    assert "skipped: 4 (1 empty file, 2 not a video OpenCV can open, 1 too short)" in lines
    assert any(line.startswith("clips: 4 ") for line in lines)
    assert any(line.startswith("frames: ") for line in lines)
    assert any(line.startswith("bytes: ") and "2 shard(s)" in line for line in lines)
    assert "moov atom" not in result.stderr  # FFmpeg's own noise is silenced
    stats = vidgan("prepare", "--stats", f"--input={out}")
    assert stats.returncode == 0, stats.stderr
    assert "videos: 4" in stats.stdout and "classes: 2: cats (3), dogs (1)" in stats.stdout
    assert "resolutions (WxH): 40x30 (2), 48x32 (1), 32x40 (1)" in stats.stdout
    assert "stored as: png in 2 shard(s)" in stats.stdout and "{" not in stats.stdout


def test_cli_errors_are_one_line(tmp_path):
    """A missing input (exit 2) and a folder of only broken files (exit 1, after the skip
    warnings) each end in one error line, with no traceback."""
    missing = vidgan("prepare", f"--input={tmp_path}/nope", f"--output={tmp_path}/out")
    assert missing.returncode == 2
    assert missing.stderr.strip() == (
        f"vidgan prepare: error: --input={tmp_path}/nope does not exist")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.mp4").write_bytes(b"")
    (broken / "b.mp4").write_text("nope")
    result = vidgan("prepare", f"--input={broken}", f"--output={tmp_path}/out")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("vidgan ")]
    assert errors == [result.stderr.strip().splitlines()[-1]]  # one line, the last
    assert errors[0].startswith(f"vidgan prepare: error: no usable videos in {broken}: 2 found")


# --- real clips ------------------------------------------------------------------------------
def test_shared_real_clips_all_prepare(tmp_path):
    """The 12 real clips (mp4, avi, mkv, webm, gif) are all usable, resized to 64."""
    require_shared_videos()
    s = prepare_lib.prepare(SHARED_VIDEOS, str(tmp_path / "out"), shorter_side=64,
                            num_shards=4, progress=False)
    assert s["videos_ok"] == 12 and s["videos_skipped"] == 0 and s["frames"] > 0
    records = records_lib.scan_records(s["shards"])
    assert {os.path.splitext(r["source"])[1] for r in records} == {
        ".mp4", ".avi", ".mkv", ".webm", ".gif"}
    assert all(min(r["height"], r["width"]) == 64 and r["frame_count"] >= 25 for r in records)
    batch = clips(tiny(path=str(tmp_path / "out"), num_frames=16, height=32, width=32), 4, 1)[0]
    assert batch.shape == (4, 16, 32, 32, 3)
