"""Decoding that cannot take the run down (vidgan.data.isolation), and `prepare` stopped by
SIGTERM and finished by a re-run. VIDGAN_FAULT makes the worker of one file abort or hang
for real; without the worker processes these tests would crash or hang pytest itself."""

import glob
import json
import os
import signal
import subprocess
import time

import numpy as np
import pytest

from data_pipelines import describe
from data_pipelines import prepare as prepare_lib
from data_pipelines import prepare_progress
from helpers import REPO, cli_env, vidgan_argv, write_video
from vidgan.data import isolation, sources
from vidgan.data import records as records_lib

NAMES = [f"{c}.avi" for c in "abcdefgh"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """8 small MJPG avis a.avi ... h.avi (12 frames each, every one different) and
    empty.avi (0 bytes: skipped by the probe)."""
    root = tmp_path_factory.mktemp("isolation_videos")
    rng = np.random.default_rng(0)
    for name in NAMES:
        write_video(root / name, rng.integers(0, 256, (12, 24, 32, 3), dtype=np.uint8), 12.0)
    (root / "empty.avi").write_bytes(b"")
    return str(root)


def reasons(summary):
    return {os.path.basename(path): reason for path, reason in summary["skipped_files"]}


def stored_sources(out):
    return sorted(r["source"] for r in records_lib.scan_records(records_lib.find_shards(out)))


@pytest.mark.parametrize("fault", ["abort:b.avi", "abort@decode:b.avi"])
def test_prepare_skips_a_file_whose_decoder_crashes(folder, tmp_path, monkeypatch, fault):
    """The worker of b.avi aborts while probing it / while decoding it (after its probe
    passed): b.avi is skipped as "decoder crashed", the other 7 videos are written."""
    monkeypatch.setenv(isolation.FAULT_ENV, fault)
    out = str(tmp_path / "out")
    s = prepare_lib.prepare(folder, out, num_shards=2, progress=False)
    assert reasons(s) == {"b.avi": "decoder crashed", "empty.avi": "empty file (0 bytes)"}
    assert s["videos_ok"] == 7 and s["skipped"]["decoder crashed"] == 1
    assert stored_sources(out) == [n for n in NAMES if n != "b.avi"]
    with open(os.path.join(out, "dataset.json")) as f:
        skipped = {e["source"]: e["reason"] for e in json.load(f)["skipped"]}
    assert skipped["b.avi"] == "decoder crashed"


@pytest.mark.parametrize("fault", ["hang:c.avi", "hang@decode:c.avi"])
def test_prepare_skips_a_file_whose_decoder_hangs(folder, tmp_path, monkeypatch, fault):
    """The worker of c.avi hangs while probing / decoding it: after the timeout it is
    killed, c.avi is skipped as "decoder timed out" and the rest is written."""
    monkeypatch.setenv(isolation.FAULT_ENV, fault)
    out = str(tmp_path / "out")
    start = time.monotonic()
    s = prepare_lib.prepare(folder, out, num_shards=2, progress=False, probe_timeout=3,
                            decode_timeout=2)  # + 0.1 s per frame: 3.2 s
    assert reasons(s)["c.avi"] == "decoder timed out" and s["videos_ok"] == 7
    assert stored_sources(out) == [n for n in NAMES if n != "c.avi"]
    assert time.monotonic() - start < 60  # the hung worker was killed, not waited for


def test_stats_skips_a_file_whose_probe_crashes(folder, monkeypatch):
    monkeypatch.setenv(isolation.FAULT_ENV, "abort:d.avi")
    s = describe.stats(folder)
    assert s["videos"] == 7 and reasons(s)["d.avi"] == "decoder crashed"


def test_scan_before_training_skips_a_file_whose_probe_crashes(folder, monkeypatch):
    """The scan of data.source=video_files (vidgan.data.pipeline.scan_for calls it)."""
    monkeypatch.setenv(isolation.FAULT_ENV, "abort:e.avi")
    report = sources.scan(folder, "video_files", False, "all", 0, 0.0, min_frames=8,
                          max_resolution=4096, default_fps=25.0, workers=2)
    assert [os.path.basename(v.path) for v in report.videos] == [
        n for n in NAMES if n != "e.avi"]
    assert reasons({"skipped_files": report.skipped})["e.avi"] == "decoder crashed"
    assert report.videos[0].info.frames == 12


def test_sigterm_stops_prepare_and_a_rerun_writes_the_same_dataset(folder, tmp_path,
                                                                   monkeypatch):
    """SIGTERM while the 2nd video is written: prepare writes the videos already decoded
    and returns "stopped" with no dataset.json and no shards yet; the same call again
    finishes, and its shards and dataset.json equal an uninterrupted run's (b.avi crashes
    in both, so a skip from before the stop is kept too)."""
    monkeypatch.setenv(isolation.FAULT_ENV, "abort@decode:b.avi")
    args = dict(num_shards=3, workers=1, progress=False)
    whole, stopped = str(tmp_path / "whole"), str(tmp_path / "stopped")
    prepare_lib.prepare(folder, whole, **args)

    encode_example, calls = records_lib.encode_example, []

    def encode_and_stop(*a, **k):  # runs in the main thread, once per written video
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return encode_example(*a, **k)

    monkeypatch.setattr(records_lib, "encode_example", encode_and_stop)
    s = prepare_lib.prepare(folder, stopped, **args)
    # workers=1, 2 videos in flight: a written, b crashed, c written (SIGTERM), then d
    # only if its worker had finished it by then.
    done = s["videos_done"]
    assert s == {"stopped": "SIGTERM", "videos_done": done, "remaining": 8 - done,
                 "output_dir": stopped} and done in (3, 4)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handler given back
    assert not glob.glob(os.path.join(stopped, records_lib.SHARD_GLOB))
    assert not os.path.exists(os.path.join(stopped, "dataset.json"))
    with open(os.path.join(stopped, prepare_progress.FILE)) as f:
        saved = json.load(f)
    assert saved["done"] == done and saved["skipped"] == [["b.avi", "decoder crashed"]]

    calls.clear()
    monkeypatch.setattr(records_lib, "encode_example",
                        lambda *a, **k: calls.append(1) or encode_example(*a, **k))
    s = prepare_lib.prepare(folder, stopped, **args)
    assert s["stopped"] is None and s["videos_ok"] == 7
    assert len(calls) == 8 - done  # continued: the done videos were not decoded again
    assert sorted(os.listdir(stopped)) == sorted(os.listdir(whole))  # no progress left
    for name in os.listdir(whole):
        with open(os.path.join(whole, name), "rb") as a, \
                open(os.path.join(stopped, name), "rb") as b:
            first, second = a.read(), b.read()
        if name == "dataset.json":
            first, second = ({**json.loads(t), "created": ""} for t in (first, second))
        assert first == second, name


def test_cli_prepare_stopped_by_sigterm_says_so_in_one_line(folder, tmp_path):
    """`vidgan prepare` gets SIGTERM while b.avi's decoder hangs: it stops at once (not
    after b's 60 s timeout), exits 0 with one line saying it stopped and that a re-run
    finishes. b.avi is not recorded as timed out: the library call with the same
    arguments (the CLI's defaults) finishes the dataset with all 8 videos."""
    out = str(tmp_path / "out")
    proc = subprocess.Popen(
        vidgan_argv("prepare", f"--input={folder}", f"--output={out}", "--noprogress",
                    "--decode_timeout=60"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**cli_env(), isolation.FAULT_ENV: "hang@decode:b.avi"})
    deadline = time.monotonic() + 240
    while not glob.glob(os.path.join(out, ".tmp-*")):  # writing: inside StopSignals
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(2.0)  # a.avi is most likely written by now (the test holds either way)
    proc.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert time.monotonic() - sent < 40  # b's timeout is 60 s + 1.2 s
    [line] = stdout.splitlines()
    assert line.startswith("stopped by SIGTERM: ") and line.endswith(
        f"re-run the same command to finish (what is written is kept in {out})")
    s = prepare_lib.prepare(folder, out, progress=False)
    assert s["videos_ok"] == 8 and stored_sources(out) == NAMES
    assert not glob.glob(os.path.join(out, ".tmp-*"))
