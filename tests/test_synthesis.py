"""Batch synthesis from an exported SavedModel: file formats, manifest, resume, refusal
of mixed settings, model dir resolution, bad requests and the `vidgan synthesize` CLI."""

import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from helpers import assert_one_line_error, run_concurrently, vidgan_argv
from vidgan import export as export_lib
from vidgan.data import video_io
from vidgan.synthesis import SynthesisError, SynthesisRequest, synthesize

SHAPE = (8, 16, 16, 3)
OLD = 1_000_000_000  # an mtime (2001) no file written by this test can have


@pytest.fixture(scope="module")
def reference(trained):
    """seed -> the SavedModel's `generate` video for seeds 0..19 (uint8 [T, H, W, 3])."""
    model = tf.saved_model.load(trained.version_dir)
    videos = model.signatures["generate"](seed=tf.range(20, dtype=tf.int64))["video"].numpy()
    return dict(enumerate(videos))


def request(trained, out_dir, num_videos, **kwargs):
    return SynthesisRequest(model_dir=trained.export_dir, out_dir=str(out_dir),
                            num_videos=num_videos, **kwargs)


def file_name(seed, format):
    return f"seed_{seed:08d}{video_io.EXTENSIONS[format]}"


def video_codec(path):
    """'Video: <codec> <pixel format>' as PyAV's demuxer reads the file's first stream."""
    import av  # noqa: PLC0415

    with av.open(path) as container:
        context = container.streams.video[0].codec_context
        return f"Video: {context.name} {context.pix_fmt}"


def read_manifest(out_dir):
    with open(os.path.join(out_dir, "manifest.json")) as f:
        return json.load(f)


# --- formats ---------------------------------------------------------------------------

@pytest.mark.parametrize("format", video_io.FORMATS)
def test_every_format_writes_one_readable_file_per_seed(trained, reference, tmp_path, format):
    """Each format writes seed_00000010..14 that read back at size; npz/png_strip exactly."""
    summary = synthesize(request(trained, tmp_path, 5, batch_size=2, seed_start=10,
                                 format=format), progress=False)
    assert (summary["written"], summary["skipped"]) == (5, 0)
    names = [file_name(seed, format) for seed in range(10, 15)]
    assert sorted(os.listdir(tmp_path)) == sorted(names + ["manifest.json"])
    for seed, name in zip(range(10, 15), names):
        video = video_io.read_video(str(tmp_path / name), format, num_frames=SHAPE[0])
        assert video.dtype == np.uint8 and video.shape[1:] == SHAPE[1:], name
        if format in ("npz", "png_strip"):
            np.testing.assert_array_equal(video, reference[seed], err_msg=name)
        elif format == "gif":  # Pillow merges identical consecutive frames
            assert 1 <= video.shape[0] <= SHAPE[0], name
        else:
            assert video.shape == SHAPE, name


def test_mp4_is_h264_and_decodes_close_to_the_model_output(trained, reference, tmp_path):
    """mp4 files are H.264 yuv420p (what browsers play) and decode with OpenCV to the 8
    generated frames."""
    synthesize(request(trained, tmp_path, 2, batch_size=2, seed_start=3, format="mp4"),
               progress=False)
    for seed in (3, 4):
        path = str(tmp_path / file_name(seed, "mp4"))
        codec = video_codec(path)
        assert codec == "Video: h264 yuv420p", codec
        video = np.stack(list(video_io.iter_frames(path)))  # OpenCV, RGB
        assert video.shape == SHAPE
        # CRF 18 with 4:2:0 chroma is visually lossless: a few levels of mean error on
        # natural content (test_video_io measures ~3 on blocky random colors). 12 levels
        # (~5% of the range) leaves room for codec builds, yet catches swapped channels,
        # dropped/reordered frames or a wrong range. (The 4-step model's videos are close
        # to flat gray, so this mainly guards decoding; test_video_io checks fidelity.)
        diff = np.abs(video.astype(int) - reference[seed].astype(int)).mean()
        assert diff < 12, (seed, diff)


# --- manifest --------------------------------------------------------------------------

def test_manifest_lists_videos_settings_and_model(trained, tmp_path):
    """manifest.json records seeds, paths, settings, complete: true and the model metadata."""
    synthesize(request(trained, tmp_path, 3, seed_start=7, format="npz", fps=12.5,
                       truncation=0.75), progress=False)
    manifest = read_manifest(str(tmp_path))
    assert manifest["complete"] is True
    assert manifest["videos"] == [{"seed": s, "path": file_name(s, "npz")} for s in (7, 8, 9)]
    assert manifest["settings"] == {
        "model_path": os.path.abspath(trained.version_dir), "model_step": 4, "format": "npz",
        "fps": 12.5, "truncation": 0.75, "labels": []}
    model = manifest["model"]
    assert (model["step"], model["num_frames"], model["height"], model["width"],
            model["z_dim"]) == (4, 8, 16, 16, 16)
    assert model["config"]["data"]["fps"] == 8


def test_manifest_default_fps_is_the_models(trained, tmp_path):
    """Without fps the manifest records the model's training fps."""
    synthesize(request(trained, tmp_path, 1, format="png_strip"), progress=False)
    assert read_manifest(str(tmp_path))["settings"]["fps"] == 8.0


def test_failed_run_leaves_manifest_incomplete(trained, tmp_path, monkeypatch):
    """If writing a video fails, the error propagates and the manifest says complete: false."""
    write = video_io.write_video

    def flaky(path, video, fps, format):
        if path.endswith(file_name(2, "gif")):
            raise OSError("disk full (simulated)")
        write(path, video, fps, format)

    monkeypatch.setattr(video_io, "write_video", flaky)
    with pytest.raises(OSError, match="simulated"):
        synthesize(request(trained, tmp_path, 4, batch_size=2, format="gif"), progress=False)
    manifest = read_manifest(str(tmp_path))
    assert manifest["complete"] is False and len(manifest["videos"]) == 4
    assert not os.path.exists(tmp_path / file_name(2, "gif"))


# --- resume ----------------------------------------------------------------------------

def test_sigterm_stops_after_the_batch_in_flight_and_a_rerun_finishes(trained, reference,
                                                                     tmp_path, monkeypatch):
    """SIGTERM while the first batch is written: that batch is finished and kept, no
    further batch starts, the manifest says incomplete; a re-run writes only the rest."""
    import signal  # noqa: PLC0415

    write = video_io.write_video
    calls = []

    def write_then_signal(path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGTERM)
        return write(path, *args, **kwargs)

    monkeypatch.setattr(video_io, "write_video", write_then_signal)
    first = synthesize(request(trained, tmp_path, 8, batch_size=2, format="npz"),
                       progress=False)
    assert first["stopped"] == "SIGTERM"
    assert 2 <= first["written"] < 8 and first["remaining"] == 8 - first["written"]
    written = sorted(n for n in os.listdir(tmp_path) if n.endswith(".npz"))
    assert written == [file_name(s, "npz") for s in range(first["written"])]
    assert read_manifest(tmp_path)["complete"] is False
    monkeypatch.setattr(video_io, "write_video", write)
    again = synthesize(request(trained, tmp_path, 8, batch_size=2, format="npz"),
                       progress=False)
    assert again["stopped"] is None
    assert (again["written"], again["skipped"]) == (8 - first["written"], first["written"])
    assert read_manifest(tmp_path)["complete"] is True
    for seed in range(8):
        np.testing.assert_array_equal(
            video_io.read_video(str(tmp_path / file_name(seed, "npz")), "npz", num_frames=SHAPE[0]),
            reference[seed])


@pytest.mark.parametrize("format", video_io.FORMATS)
def test_resume_rewrites_only_missing_or_broken_files(trained, reference, tmp_path, format):
    """A re-run rewrites only missing or broken files; more videos adds only the new ones."""
    out = str(tmp_path)
    first = synthesize(request(trained, out, 6, batch_size=4, format=format), progress=False)
    assert (first["written"], first["skipped"]) == (6, 0)
    paths = {seed: os.path.join(out, file_name(seed, format)) for seed in range(8)}
    os.remove(paths[1])
    with open(paths[3], "r+b") as f:
        f.truncate(10)
    kept = (0, 2, 4, 5)
    for seed in kept:
        os.utime(paths[seed], (OLD, OLD))

    again = synthesize(request(trained, out, 6, batch_size=4, format=format), progress=False)
    assert (again["written"], again["skipped"]) == (2, 4)
    assert [os.stat(paths[seed]).st_mtime for seed in kept] == [OLD] * 4
    for seed in (1, 3):
        video = video_io.read_video(paths[seed], format, num_frames=SHAPE[0])
        assert video.shape[1:] == SHAPE[1:]
        if format in ("npz", "png_strip"):
            np.testing.assert_array_equal(video, reference[seed])
        os.utime(paths[seed], (OLD, OLD))

    more = synthesize(request(trained, out, 8, batch_size=4, format=format), progress=False)
    assert (more["written"], more["skipped"]) == (2, 6)
    assert [os.stat(paths[seed]).st_mtime for seed in range(6)] == [OLD] * 6
    assert all(os.path.exists(paths[seed]) for seed in (6, 7))
    manifest = read_manifest(out)
    assert [v["seed"] for v in manifest["videos"]] == list(range(8))
    assert manifest["complete"] is True


# --- refusal of mixed settings -----------------------------------------------------------

def test_other_settings_in_same_out_dir_need_overwrite(trained, reference, tmp_path):
    """Other format/truncation in an out dir needs --overwrite, which rewrites every file."""
    out = str(tmp_path)
    synthesize(request(trained, out, 3, format="npz"), progress=False)
    with pytest.raises(SynthesisError, match="--overwrite") as info:
        synthesize(request(trained, out, 3, format="gif"), progress=False)
    assert "format: 'npz' -> 'gif'" in str(info.value)
    with pytest.raises(SynthesisError, match="--overwrite") as info:
        synthesize(request(trained, out, 3, format="npz", truncation=0.5), progress=False)
    assert "truncation: 1.0 -> 0.5" in str(info.value)
    assert read_manifest(out)["settings"]["truncation"] == 1.0

    paths = [os.path.join(out, file_name(seed, "npz")) for seed in range(3)]
    for path in paths:
        os.utime(path, (OLD, OLD))
    summary = synthesize(request(trained, out, 3, format="npz", truncation=0.5,
                                 overwrite=True), progress=False)
    assert (summary["written"], summary["skipped"]) == (3, 0)
    assert all(os.stat(path).st_mtime != OLD for path in paths)
    assert read_manifest(out)["settings"]["truncation"] == 0.5
    video = video_io.read_video(paths[0], "npz")
    assert not np.array_equal(video, reference[0])  # now made from latents * 0.5


# --- model dir ---------------------------------------------------------------------------

def test_model_dir_picks_highest_numeric_version(trained, tmp_path):
    """An export dir resolves to its highest numeric version; a version folder is used as is."""
    export_dir = str(tmp_path / "export")
    shutil.copytree(trained.export_dir, export_dir)
    export_lib.export(trained.workdir, export_dir, version=7)
    os.makedirs(os.path.join(export_dir, "12"))  # no saved_model.pb: not a version
    os.makedirs(os.path.join(export_dir, ".13.tmp-abc"))
    summary = synthesize(SynthesisRequest(export_dir, str(tmp_path / "a"), 1, format="npz"),
                         progress=False)
    assert summary["model"] == os.path.join(export_dir, "7")
    assert read_manifest(str(tmp_path / "a"))["settings"]["model_path"].endswith(
        os.sep + "7")

    version_dir = os.path.join(export_dir, "4")
    summary = synthesize(SynthesisRequest(version_dir, str(tmp_path / "b"), 1, format="npz"),
                         progress=False)
    assert summary["model"] == version_dir
    assert read_manifest(str(tmp_path / "b"))["settings"]["model_path"].endswith(
        os.sep + "4")


# --- bad requests: library and CLI --------------------------------------------------------

def _bad_cases(trained, base):
    """name -> (SynthesisRequest kwargs, CLI flags, expected message)."""
    corrupt = base / "corrupt_model"
    corrupt.mkdir(exist_ok=True)
    (corrupt / "saved_model.pb").write_bytes(b"\x00garbage, not a SavedModel protobuf\xff" * 8)
    blocker = base / "a_file"
    blocker.write_text("a regular file")
    model = trained.export_dir
    return {
        "missing_model": (dict(model_dir=str(base / "no_such_model")),
                          [f"--model_dir={base / 'no_such_model'}"], "does not exist"),
        "corrupt_model": (dict(model_dir=str(corrupt)), [f"--model_dir={corrupt}"],
                          "is not a vidgan SavedModel or is corrupt"),
        "num_videos_0": (dict(num_videos=0), ["--num_videos=0"], "num_videos must be > 0"),
        "num_videos_-1": (dict(num_videos=-1), ["--num_videos=-1"], "num_videos must be > 0"),
        "batch_size_0": (dict(batch_size=0), ["--batch_size=0"], "batch_size must be > 0"),
        "format_avi": (dict(format="avi"), ["--format=avi"], "unknown format 'avi'"),
        "out_dir_under_file": (dict(out_dir=str(blocker / "out")),
                               [f"--out_dir={blocker / 'out'}"], "cannot write to out dir"),
        "fps_0": (dict(fps=0.0), ["--fps=0"], "fps must be in (0, 1000]"),
        "num_frames_0": (dict(num_frames=0), ["--num_frames=0"], "num_frames must be > 0"),
        "num_frames_fixed_length": (dict(num_frames=32), ["--num_frames=32"],
                                    "makes clips of 8 frames only"),
    }, model


BAD = ["missing_model", "corrupt_model", "num_videos_0", "num_videos_-1", "batch_size_0",
       "format_avi", "out_dir_under_file", "fps_0", "num_frames_0", "num_frames_fixed_length"]


@pytest.mark.parametrize("case", BAD)
def test_bad_request_raises_synthesis_error(trained, tmp_path, case):
    """Each bad request raises SynthesisError with a one-line reason and writes nothing."""
    cases, model = _bad_cases(trained, tmp_path)
    kwargs, _, message = cases[case]
    out_dir = str(tmp_path / "out")
    args = {"model_dir": model, "out_dir": out_dir, "num_videos": 2, **kwargs}
    with pytest.raises(SynthesisError) as info:
        synthesize(SynthesisRequest(**args), progress=False)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert not os.path.exists(out_dir)


@pytest.fixture(scope="module")
def cli(trained, tmp_path_factory):
    """Runs the CLI cases side by side: the bad ones, and a good gif run."""
    base = tmp_path_factory.mktemp("synthesize_cli")
    cases, model = _bad_cases(trained, base)
    commands = {}
    for name in BAD:
        _, flags, _ = cases[name]
        defaults = {"--model_dir": model, "--out_dir": str(base / f"out_{name}"),
                    "--num_videos": "2"}
        for flag in flags:
            defaults.pop(flag.split("=")[0], None)
        commands[name] = vidgan_argv("synthesize", *flags,
                                     *(f"{k}={v}" for k, v in defaults.items()))
    commands["ok"] = vidgan_argv("synthesize", f"--model_dir={model}", "--num_videos=3",
                                 "--batch_size=2", f"--out_dir={base / 'ok'}", "--format=gif")
    return base, cases, run_concurrently(commands)


@pytest.mark.parametrize("case", BAD)
def test_cli_bad_request_fails_in_one_line(cli, case):
    """`vidgan synthesize` with a bad request exits 2 with one error line, no traceback."""
    base, cases, results = cli
    assert_one_line_error(results[case], "synthesize", cases[case][2])
    assert not os.path.exists(base / f"out_{case}")


def test_cli_writes_videos_with_progress_bar(cli):
    """The CLI writes 3 GIFs, says so on stdout and shows a progress bar ending at 3/3."""
    base, _, results = cli
    result = results["ok"]
    assert result.returncode == 0, result.stderr[-3000:]
    assert "wrote 3 videos (0 were already there)" in result.stdout
    states = [line for line in result.stderr.replace("\r", "\n").splitlines()
              if "/3 [" in line]  # tqdm: " 67%|...| 2/3 [00:01<00:00, ...]"
    assert states and "3/3" in states[-1] and "100%" in states[-1], result.stderr[-2000:]
    out = str(base / "ok")
    assert sorted(os.listdir(out)) == sorted(
        [file_name(seed, "gif") for seed in range(3)] + ["manifest.json"])
    assert read_manifest(out)["complete"] is True
