"""FVD/KVD evaluation (vidgan.evaluation, `vidgan evaluate`) and FVD during training.

Everything I3D-bound runs at tiny protocols (4-8 clips, 16 frames; I3D sees every clip at
224 x 224, ~0.5 s a clip on 2 cores), with one I3D for the in-process tests that check
numbers; the tests of orchestration (the cache, its keys, seeds) use a fake feature
network instead. The real
feature cache is always isolated: VIDGAN_CACHE points at a tmp dir holding a symlink
`i3d` -> the real weights folder, so nothing is written to the user's ~/.cache/vidgan.

The tests that run I3D need the converted weights (`vidgan fetch-i3d`): they skip without
them, except on CI (CI=true), where a missing file is an error because .ci/run fetches it.
"""

import dataclasses
import glob
import json
import os
import types

import cv2
import numpy as np
import pytest

from helpers import (REPO, assert_one_line_error, read_events, require_weights,
                     run_concurrently, vidgan, vidgan_argv, with_family)
from vidgan import config as config_lib
from vidgan import evaluation, models
from vidgan import export as export_lib
from vidgan.config import DataConfig
from vidgan.data import fingerprint
from vidgan.evaluation import EvaluationError, Protocol
from vidgan.metrics import fvd as fvd_lib
from vidgan.models import i3d

TINY = os.path.join(REPO, "experiments", "quickstart.py") + ":tiny"
T16 = "--config.data.num_frames=16"  # the tiny preset has 8 frames; I3D needs >= 9
# Resolved at import, before any test points VIDGAN_CACHE elsewhere.
REAL_WEIGHTS = i3d.default_weights_path()
P4 = Protocol(num_clips=4, num_frames=16, batch_size=4)


# --- fixtures ----------------------------------------------------------------------------------
def make_cache(folder) -> str:
    """A cache dir whose i3d/ is the real weights folder (symlink): fvd_real/ lands here."""
    os.makedirs(folder, exist_ok=True)
    os.symlink(os.path.dirname(REAL_WEIGHTS), os.path.join(folder, "i3d"))
    return str(folder)


def fvd_real_files(cache: str) -> list[str]:
    folder = os.path.join(cache, "fvd_real")
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> str:
    """Every test gets its own VIDGAN_CACHE (in-process and for the CLI subprocesses)."""
    path = make_cache(tmp_path / "vidgan_cache")
    monkeypatch.setenv("VIDGAN_CACHE", path)
    return path


@pytest.fixture(scope="module")
def weights() -> str:
    return require_weights()


@pytest.fixture(scope="module")
def extractor(weights):
    """One I3D for every in-process test (loading it takes seconds)."""
    return evaluation.FeatureExtractor(weights)


class FakeExtractor:
    """Stands in for evaluation.FeatureExtractor where a test checks orchestration
    (caching, keys, seeds, bookkeeping), not I3D's numbers: uint8 [N, T, H, W, 3] ->
    float32 [N, 400], a fixed nonlinear projection of coarse pixel statistics (the mean
    and spread of each half of the clip in time, height and width), so other clips give
    other features, in milliseconds instead of ~0.5 s a clip."""

    weights = "fake feature network"
    weights_sha256 = "fake"  # a cache key of its own: never mixed with I3D's features

    def __init__(self):
        self._project = np.random.default_rng(0).normal(size=(26, i3d.NUM_CLASSES))

    def __call__(self, videos: np.ndarray) -> np.ndarray:
        x = np.asarray(videos, np.float64) / 255.0  # [N, T, H, W, 3]
        parts = [x] + [half for axis in (1, 2, 3) for half in np.array_split(x, 2, axis=axis)]
        stats = [p.mean(axis=(1, 2, 3, 4)) for p in parts]  # 7 means [N]
        stats += [p.std(axis=(1, 2, 3, 4)) for p in parts]  # 7 spreads [N]
        stats += list(x.mean(axis=(1, 2, 3)).T) + list(x.std(axis=(1, 2, 3)).T)  # per color
        stats += [x[:, 1:].mean(axis=(1, 2, 3, 4)) - x[:, :-1].mean(axis=(1, 2, 3, 4)),
                  np.abs(np.diff(x, axis=1)).mean(axis=(1, 2, 3, 4)),
                  np.abs(np.diff(x, axis=2)).mean(axis=(1, 2, 3, 4)),
                  np.abs(np.diff(x, axis=3)).mean(axis=(1, 2, 3, 4)),
                  x.max(axis=(1, 2, 3, 4)), x.min(axis=(1, 2, 3, 4))]
        return np.tanh(np.stack(stats, axis=1) @ self._project).astype(np.float32)


@pytest.fixture
def fake_extractor() -> FakeExtractor:
    return FakeExtractor()


@pytest.fixture(scope="module")
def run(weights, tmp_path_factory):
    """The tiny preset at 16 frames, trained 4 steps by `vidgan train` with FVD on 4 clips
    every 2 steps (its own VIDGAN_CACHE), and exported; test 7 checks its events."""
    base = tmp_path_factory.mktemp("fvd_run")
    cache = make_cache(base / "cache")
    workdir = str(base / "run")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VIDGAN_CACHE", cache)
        result = vidgan("train", f"--config={TINY}", T16, "--config.train.fvd_every=2",
                        "--config.train.fvd_clips=4", f"--workdir={workdir}")
    assert result.returncode == 0, result.stderr
    version_dir = export_lib.export(workdir, str(base / "export"))
    with open(os.path.join(workdir, "config.json")) as f:
        config = config_lib.from_dict(json.load(f)["config"])
    return types.SimpleNamespace(workdir=workdir, version_dir=version_dir, cache=cache,
                                 config=config, stderr=result.stderr)


def tiny16_config() -> config_lib.Config:
    cfg = config_lib.make_tiny(config_lib.default_config())
    cfg.data.num_frames = 16
    cfg.model.dcgan3d.generator.z_dim = 16
    return config_lib.from_dict(cfg)


def untrained_source(config: config_lib.Config) -> evaluation.Source:
    generator = models.build_generator(config, name="generator")
    models.build(generator)
    return evaluation.source_from_generator(generator, config, "untrained generator")


def real_config(data: DataConfig, protocol: Protocol) -> DataConfig:
    return evaluation.real_data_config(data, protocol, (data.num_frames, data.height, data.width))


def write_video(path, video_id: int, num_frames: int = 20, size: int = 32) -> str:
    """An MJPG .avi of smooth random blobs (content fixed by video_id)."""
    rng = np.random.default_rng(video_id)
    base = cv2.resize(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8), (size, size))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (size, size))
    assert writer.isOpened(), path
    for i in range(num_frames):
        writer.write(np.roll(base, 2 * i, axis=1))
    writer.release()
    return str(path)


def read_json(path) -> dict:
    with open(path) as f:
        return json.load(f)


# --- 1. protocol validation --------------------------------------------------------------------
@pytest.mark.parametrize("fields, message", [
    ({"num_clips": 1}, "num_clips must be >= 2"),
    ({"num_frames": 8}, "num_frames must be >= 9"),
    ({"split": "validation"}, "split must be train, test or all"),
    ({"batch_size": 0}, "batch_size >= 1"),
])
def test_protocol_validate_rejects(fields, message):
    Protocol(num_clips=2, num_frames=9, split="all").validate()  # the limits themselves pass
    with pytest.raises(EvaluationError, match=message):
        Protocol(**fields).validate()


def test_evaluate_refuses_more_frames_than_the_generator_makes(tiny_config, tmp_path):
    """An 8-frame generator cannot give FVD16 (raised before I3D is loaded: a weights path
    that does not exist is never read)."""
    source = untrained_source(tiny_config)
    missing = str(tmp_path / "no_weights.npz")
    with pytest.raises(EvaluationError, match=r"8-frame videos; FVD16 needs 16"):
        evaluation.evaluate(source, protocol=P4, weights=missing, progress=False)
    with pytest.raises(EvaluationError, match="num_runs must be >= 1"):
        evaluation.evaluate(source, protocol=P4,
                            num_runs=0, weights=missing, progress=False)


# --- 2. the real-feature cache -----------------------------------------------------------------
def test_real_features_cache_hits_and_keys(fake_extractor, cache):
    extractor = fake_extractor
    data = tiny16_config().data
    cfg = real_config(data, P4)
    first, path, cached = evaluation.real_features(cfg, P4, extractor, progress=False)
    assert not cached and first.shape == (4, i3d.NUM_CLASSES) and np.isfinite(first).all()
    assert os.path.dirname(path) == os.path.join(cache, "fvd_real")
    assert fvd_real_files(cache) == [os.path.basename(path)]

    again, path2, cached2 = evaluation.real_features(cfg, P4, extractor, progress=False)
    assert cached2 and path2 == path
    np.testing.assert_array_equal(again, first)
    # The I3D batch size does not change the features: still the cached file.
    other_batch = dataclasses.replace(P4, batch_size=2)
    _, path3, cached3 = evaluation.real_features(cfg, other_batch, extractor, progress=False)
    assert cached3 and path3 == path

    # Another data seed: other clips, another file.
    reseeded = real_config(dataclasses.replace(data, seed=data.seed + 7), P4)
    feats, path4, cached4 = evaluation.real_features(reseeded, P4, extractor, progress=False)
    assert not cached4 and path4 != path
    assert not np.allclose(feats, first)
    # Fewer clips: another file too (not a prefix served from the 4-clip one).
    three = dataclasses.replace(P4, num_clips=3)
    feats3, path5, cached5 = evaluation.real_features(real_config(data, three), three,
                                                      extractor, progress=False)
    assert not cached5 and path5 not in (path, path4) and feats3.shape == (3, i3d.NUM_CLASSES)
    assert len(fvd_real_files(cache)) == 3
    # The network's checksum is part of the key: another network, another file.
    other_net = FakeExtractor()
    other_net.weights_sha256 = "another"
    _, path6, cached6 = evaluation.real_features(cfg, P4, other_net, progress=False)
    assert not cached6 and path6 != path and len(fvd_real_files(cache)) == 4


def test_real_features_cache_follows_video_files(fake_extractor, cache, tmp_path, monkeypatch):
    """video_files data: rewriting one video (other content, size and mtime) computes the
    features again; cache=False neither reads nor writes the cache."""
    extractor = fake_extractor
    folder = tmp_path / "videos"
    folder.mkdir()
    videos = [write_video(folder / f"v{i}.avi", video_id=i) for i in range(3)]
    data = DataConfig(source="video_files", path=str(folder), num_frames=16, height=32,
                      width=32, clip_offsets="uniform", decode_parallelism=2)
    protocol = dataclasses.replace(P4, split="all")
    cfg = real_config(data, protocol)
    first, path, cached = evaluation.real_features(cfg, protocol, extractor, progress=False)
    assert not cached
    again, path2, cached2 = evaluation.real_features(cfg, protocol, extractor, progress=False)
    assert cached2 and path2 == path
    np.testing.assert_array_equal(again, first)

    before = os.stat(videos[1])
    write_video(videos[1], video_id=99)
    after = os.stat(videos[1])
    assert (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns)
    changed, path3, cached3 = evaluation.real_features(cfg, protocol, extractor,
                                                       progress=False)
    assert not cached3 and path3 != path
    assert not np.allclose(changed, first, atol=1e-3)  # the new content was judged

    # cache=False: computed (the same features as the cached run), nothing written.
    empty = tmp_path / "empty_cache"
    monkeypatch.setenv("VIDGAN_CACHE", str(empty))
    fresh, path4, cached4 = evaluation.real_features(cfg, protocol, extractor, cache=False,
                                                     progress=False)
    assert path4 is None and not cached4
    np.testing.assert_allclose(fresh, changed, rtol=1e-4, atol=1e-3)
    assert not empty.exists()


def test_evaluate_runs_take_the_next_blocks_and_reuse_the_cache(fake_extractor, cache):
    """num_runs=2: run r is real block r against seed block r (each its own cache file),
    mean/std over the runs, and a second evaluate() reads both blocks from the cache."""
    config = tiny16_config()
    source = untrained_source(config)
    lines = []
    result = evaluation.evaluate(source, protocol=P4, num_runs=2, progress=False,
                                 log=lines.append, extractor=fake_extractor)
    assert len(result["fvd"]) == len(result["kvd"]) == result["num_runs"] == 2
    assert result["fvd_mean"] == pytest.approx(np.mean(result["fvd"]))
    assert result["fvd_std"] == pytest.approx(np.std(result["fvd"]))
    assert len(set(result["real_cache"])) == 2  # run 1 read the next block of real clips
    assert fvd_real_files(cache) == sorted(os.path.basename(p) for p in result["real_cache"])
    for run in (0, 1):
        real, _, cached = evaluation.real_features(real_config(config.data, P4), P4,
                                                   fake_extractor, progress=False, run=run)
        fake = evaluation.generated_features(source, P4, fake_extractor, run=run,
                                             progress=False)
        assert cached
        assert result["fvd"][run] == pytest.approx(fvd_lib.fvd(real, fake), rel=1e-6)
    assert result["fvd"][0] != result["fvd"][1]
    assert sum("real features computed" in line for line in lines) == 2

    lines.clear()
    again = evaluation.evaluate(source, protocol=P4, num_runs=2, progress=False,
                                log=lines.append, extractor=fake_extractor)
    assert again["fvd"] == result["fvd"] and again["real_cache"] == result["real_cache"]
    assert sum("read from the cache" in line for line in lines) == 2


def test_training_monitor_judges_the_same_seeds_every_time(fake_extractor, cache):
    """FVD during training: real features computed once (one cache file), the same seeds
    at every call, so only a change of the generator moves the number."""
    raw = config_lib.make_tiny(config_lib.default_config())
    raw.data.num_frames, raw.train.fvd_clips = 16, 4
    config = config_lib.from_dict(raw)
    generator = models.build_generator(config, name="generator")
    models.build(generator)
    monitor = evaluation.TrainingMonitor(config, generator, extractor=fake_extractor)
    first = monitor()
    assert set(first) == {"metrics/fvd4", "metrics/kvd4"}
    assert monitor() == first
    assert len(fvd_real_files(cache)) == 1
    kernel = generator.trainable_variables[0]
    kernel.assign(kernel * 3.0)
    assert monitor()["metrics/fvd4"] != first["metrics/fvd4"]
    assert len(fvd_real_files(cache)) == 1


def test_real_split_is_the_datas_own(tmp_path):
    """The data seed fixes the train/test split by video: the real clips of any protocol
    seed (and so of every run) come from the split the training run used, so
    `--split=test` never scores the generator against its own training videos."""
    folder = tmp_path / "videos"
    folder.mkdir()
    for i in range(12):
        write_video(folder / f"v{i:02d}.avi", video_id=i, num_frames=16, size=16)
    data = DataConfig(source="video_files", path=str(folder), num_frames=16, height=16,
                      width=16, seed=3, test_fraction=0.5)

    def videos(config):
        return sorted(stamp[0] for stamp in fingerprint(config))

    own_test = videos(dataclasses.replace(data, split="test"))
    assert 0 < len(own_test) < 12
    # The check can fail: other seeds split these 12 videos differently.
    assert own_test != videos(dataclasses.replace(data, split="test", seed=0))
    assert own_test != videos(dataclasses.replace(data, split="test", seed=1))
    for seed in (0, 1, 3):
        protocol = Protocol(num_clips=4, split="test", seed=seed)
        assert videos(real_config(data, protocol)) == own_test, seed


# --- 3. determinism and FVD(real, real) --------------------------------------------------------
@pytest.fixture(scope="module")
def real_sets(extractor, tmp_path_factory):
    """Features of 8 real clips for protocol seeds 0 and 1 (disjoint clips), tiny16 data."""
    data = tiny16_config().data
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VIDGAN_CACHE", make_cache(tmp_path_factory.mktemp("real_sets")))
        out = {}
        for seed in (0, 1):
            protocol = Protocol(num_clips=8, num_frames=16, batch_size=4, seed=seed)
            out[seed], _, _ = evaluation.real_features(real_config(data, protocol), protocol,
                                                       extractor, progress=False)
    return out


def test_fvd_of_the_same_real_clips_twice_is_zero(extractor, real_sets):
    """Recomputing the seed-0 real features (no cache) gives the same features: FVD ~0,
    against a clearly positive FVD between two disjoint real sets."""
    data = tiny16_config().data
    protocol = Protocol(num_clips=8, num_frames=16, batch_size=4, seed=0)
    again, _, cached = evaluation.real_features(real_config(data, protocol), protocol,
                                                extractor, cache=False, progress=False)
    assert not cached
    np.testing.assert_allclose(again, real_sets[0], rtol=1e-4, atol=1e-3)
    between = fvd_lib.fvd(real_sets[0], real_sets[1])
    assert between > 1.0
    assert fvd_lib.fvd(real_sets[0], again) < 1e-4 * between


def test_generated_features_are_deterministic(fake_extractor, run):
    extractor = fake_extractor
    source = evaluation.source_from_workdir(run.workdir)
    first = evaluation.generated_features(source, P4, extractor, progress=False)
    second = evaluation.generated_features(source, P4, extractor, progress=False)
    assert first.shape == (4, i3d.NUM_CLASSES)
    np.testing.assert_array_equal(first, second)
    # Run 1 uses the next block of seeds: other videos, other features.
    other = evaluation.generated_features(source, P4, extractor, run=1, progress=False)
    assert not np.allclose(other, first)


def test_run_and_its_export_generate_the_same_videos(run):
    """The promise behind --workdir == --model_dir: same seeds, same uint8 videos."""
    from_run = evaluation.source_from_workdir(run.workdir)
    from_export = evaluation.source_from_saved_model(run.version_dir)
    a, b = from_run.generate(np.arange(4)), from_export.generate(np.arange(4))
    assert a.dtype == np.uint8 and a.shape == (4, 16, 16, 16, 3)
    np.testing.assert_array_equal(a, b)
    assert a.std() > 0 and not np.array_equal(a[0], a[1])  # not a constant the test could miss
    np.testing.assert_array_equal(from_run.generate(np.arange(2, 4)), a[2:])  # per seed
    assert from_export.config == from_run.config == run.config
    assert "step 4" in from_run.description and "EMA" in from_run.description
    raw = evaluation.source_from_workdir(run.workdir, ema=False)
    assert not np.array_equal(raw.generate(np.arange(4)), a)  # --ema=false is another model


def test_source_errors_are_evaluation_errors(tmp_path):
    with pytest.raises(EvaluationError, match="not a vidgan training run"):
        evaluation.source_from_workdir(str(tmp_path))
    with pytest.raises(EvaluationError):
        evaluation.source_from_saved_model(str(tmp_path))


# --- 4. a learning signal ----------------------------------------------------------------------
def test_untrained_generator_is_farther_than_other_real_clips(extractor, real_sets):
    source = untrained_source(tiny16_config())
    protocol = Protocol(num_clips=8, num_frames=16, batch_size=4)
    fake = evaluation.generated_features(source, protocol, extractor, progress=False)
    real_real = fvd_lib.fvd(real_sets[0], real_sets[1])
    real_fake = fvd_lib.fvd(real_sets[0], fake)
    assert real_real < real_fake, (real_real, real_fake)
    assert fvd_lib.kernel_distance(real_sets[0], real_sets[1]) < fvd_lib.kernel_distance(
        real_sets[0], fake)


# --- 5. `vidgan evaluate` ----------------------------------------------------------------------
def test_cli_evaluate_workdir_and_export_agree(run, tmp_path, cache):
    common = ["--num_clips=4", "--batch_size=4", "--num_runs=2", "--progress=false"]
    by_run = vidgan("evaluate", f"--workdir={run.workdir}", *common,
                    f"--json={tmp_path / 'run.json'}")
    assert by_run.returncode == 0, by_run.stderr
    out = by_run.stdout
    assert "FVD16" in out and "KVD16" in out and "±" in out and "(2 runs)" in out
    for line in ("  clips: 4", "  frames: 16", "split train", "  seed: 0", "step 4 (EMA"):
        assert line in out, out
    assert out.count("real features computed") == 2  # two runs, two real sets
    with open(tmp_path / "run.json") as f:
        result = json.load(f)
    assert len(result["fvd"]) == len(result["kvd"]) == 2
    assert all(np.isfinite(v) and v > 0 for v in result["fvd"])
    assert result["fvd"][0] != result["fvd"][1]  # runs use other real clips and seeds
    assert result["fvd_mean"] == pytest.approx(np.mean(result["fvd"]))
    assert result["fvd_std"] == pytest.approx(np.std(result["fvd"]))
    assert result["protocol"]["clips"] == 4 and result["protocol"]["frames"] == 16
    assert len(set(result["real_cache"])) == 2
    assert all(p.startswith(os.path.join(cache, "fvd_real")) and os.path.exists(p)
               for p in result["real_cache"])

    by_export = vidgan("evaluate", f"--model_dir={run.version_dir}", *common,
                       f"--json={tmp_path / 'export.json'}")
    assert by_export.returncode == 0, by_export.stderr
    assert by_export.stdout.count("read from the cache") == 2
    with open(tmp_path / "export.json") as f:
        exported = json.load(f)
    assert exported["real_cache"] == result["real_cache"]
    for key in ("fvd", "kvd"):
        np.testing.assert_allclose(exported[key], result[key], rtol=1e-3, err_msg=key)
    assert "SavedModel" in exported["protocol"]["generated"]


def test_cli_evaluate_errors_are_one_line(run, tmp_path, monkeypatch):
    empty = tmp_path / "empty_cache"
    empty.mkdir()
    monkeypatch.setenv("VIDGAN_CACHE", str(empty))
    w, m = f"--workdir={run.workdir}", f"--model_dir={run.version_dir}"
    results = run_concurrently({
        "neither": vidgan_argv("evaluate", "--num_clips=4"),
        "both": vidgan_argv("evaluate", w, m),
        "frames": vidgan_argv("evaluate", w, "--num_frames=8"),
        "not_a_run": vidgan_argv("evaluate", f"--workdir={tmp_path}"),
        "no_weights": vidgan_argv("evaluate", w, "--num_clips=4"),
    })
    exactly_one = "give exactly one of --workdir"
    assert_one_line_error(results["neither"], "evaluate", exactly_one)
    assert_one_line_error(results["both"], "evaluate", exactly_one)
    assert_one_line_error(results["frames"], "evaluate", "num_frames must be >= 9", code=1)
    assert_one_line_error(results["not_a_run"], "evaluate", "not a vidgan training run",
                          code=1)
    assert_one_line_error(results["no_weights"], "evaluate", "`vidgan fetch-i3d`", code=1)
    assert str(empty) in results["no_weights"].stderr
    assert os.listdir(empty) == []  # nothing cached without weights


# --- 6. --config picks the real data -----------------------------------------------------------
def test_cli_evaluate_config_changes_the_real_clips(run, tmp_path, monkeypatch):
    """--config=<the run's preset> reads the real features the training run cached (same
    real clips); --config.data.seed=5 makes other real clips: another file, another FVD."""
    monkeypatch.setenv("VIDGAN_CACHE", run.cache)
    common = ["--num_clips=4", "--batch_size=4", "--progress=false", f"--workdir={run.workdir}",
              f"--config={TINY}"]
    results = run_concurrently({
        "same": vidgan_argv("evaluate", *common, f"--json={tmp_path / 'same.json'}"),
        "seed5": vidgan_argv("evaluate", *common, "--config.data.seed=5",
                             f"--json={tmp_path / 'seed5.json'}"),
        "bad": vidgan_argv("evaluate", *common, "--config.data.sead=5"),
    })
    for name in ("same", "seed5"):
        assert results[name].returncode == 0, results[name].stderr
    assert "read from the cache" in results["same"].stdout  # TrainingMonitor's file
    assert "real features computed" in results["seed5"].stdout
    same, seed5 = (read_json(tmp_path / f"{name}.json") for name in ("same", "seed5"))
    assert same["real_cache"] != seed5["real_cache"]
    assert same["fvd"] != seed5["fvd"]
    assert_one_line_error(results["bad"], "evaluate", "sead")


# --- 7. FVD during training --------------------------------------------------------------------
def test_training_writes_fvd_every_n_steps(run):
    events = read_events(run.workdir)
    for tag in ("metrics/fvd4", "metrics/kvd4"):
        assert [step for step, _ in events.get(tag, [])] == [2, 4], (tag, sorted(events))
        assert all(np.isfinite(float(v)) for _, v in events[tag]), tag
    assert all(float(v) > 0 for _, v in events["metrics/fvd4"])
    assert "FVD every 2 steps on 4 clips" in run.stderr
    assert len(fvd_real_files(run.cache)) >= 1  # the real features, cached once


def test_training_with_fvd_fails_fast(tmp_path, monkeypatch):
    """Without weights the run fails before the first step (no checkpoint); 8 frames with
    fvd_every is refused as a config error."""
    empty = tmp_path / "empty_cache"
    empty.mkdir()
    monkeypatch.setenv("VIDGAN_CACHE", str(empty))
    fvd = ["--config.train.fvd_every=2", "--config.train.fvd_clips=4"]
    results = run_concurrently({
        "no_weights": vidgan_argv("train", f"--config={TINY}", T16, *fvd,
                                  f"--workdir={tmp_path / 'a'}"),
        "frames": vidgan_argv("train", f"--config={TINY}", *fvd, f"--workdir={tmp_path / 'b'}"),
    })
    assert_one_line_error(results["no_weights"], "train", "`vidgan fetch-i3d`")
    assert "train.fvd_every" in results["no_weights"].stderr
    assert glob.glob(str(tmp_path / "a" / "checkpoints" / "ckpt-*")) == []
    assert_one_line_error(results["frames"], "train", "train.fvd_every needs data.num_frames")
    assert not os.path.exists(tmp_path / "b" / "checkpoints")


def test_a_window_of_a_long_render_is_what_generate_frames_gives_there(tiny_config):
    """source_from_generator(window=(n, first)): the T frames from `first` of each seed's
    n-frame render (any-length families; others are refused in one line)."""
    config = with_family(tiny_config, "motion", {})
    generator = models.build_generator(config)
    models.build(generator)
    t = config.data.num_frames
    source = evaluation.source_from_generator(generator, config, "test", window=(4 * t, 3 * t))
    module = export_lib.GeneratorModule(generator, export_lib.build_metadata(config, 0, True))
    long = module.generate_frames(np.array([4, 9], np.int64), 4 * t)["video"].numpy()
    np.testing.assert_array_equal(source.generate(np.array([4, 9])), long[:, 3 * t:])
    clip = evaluation.source_from_generator(generator, config, "test").generate(np.array([4]))
    assert np.abs(long[:1, :t].astype(int) - clip.astype(int)).max() <= 1
    with pytest.raises(EvaluationError, match="needs an any-length family"):
        evaluation.source_from_generator(models.build_generator(tiny_config), tiny_config,
                                         "test", window=(4 * t, 0))
