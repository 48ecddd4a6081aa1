"""`vidgan train` end to end in subprocesses: workdir contents, TensorBoard events,
resume after SIGKILL, stopping on SIGTERM / SIGINT, finished runs, and one-line errors."""

import glob
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from helpers import (REPO, assert_same_checkpoints, read_events, run_concurrently, vidgan,
                     vidgan_argv)


TINY = os.path.join(REPO, "experiments", "quickstart.py") + ":tiny"
SCALAR_TAGS = {
    "loss/d", "loss/d_real", "loss/d_fake", "loss/g", "loss/penalty", "d_logits/real",
    "d_logits/fake", "grad_norm/d", "grad_norm/g", "lr/g", "lr/d", "perf/steps_per_sec",
    "perf/clips_per_sec", "metrics/stats_distance",
}


def test_tiny_run_writes_checkpoint_config_and_events(tmp_path):
    """The CI preset trains 4 steps: checkpoint, config.json with versions, scalar tags,
    and GIF samples (reals at step 0, fixed-latent EMA samples) that decode to T frames."""
    workdir = str(tmp_path / "run")
    result = vidgan("train", f"--config={TINY}", f"--workdir={workdir}")
    assert result.returncode == 0, result.stderr
    assert "step 4/4" in result.stderr and "ETA" in result.stderr

    assert os.path.exists(os.path.join(workdir, "checkpoints", "ckpt-4.index"))
    with open(os.path.join(workdir, "config.json")) as f:
        record = json.load(f)
    assert record["config"]["data"]["height"] == 16
    assert record["versions"]["tensorflow"] == tf.__version__

    events = read_events(workdir)
    assert SCALAR_TAGS <= set(events), SCALAR_TAGS - set(events)
    assert [step for step, _ in events["loss/d"]] == [2, 4]
    assert all(np.isfinite(float(v)) for _, v in events["loss/g"])
    assert [step for step, _ in events["samples/ema"]] == [0, 2, 4]
    assert [step for step, _ in events["data/real"]] == [0]
    for tag in ("data/real", "samples/ema"):
        width, height, gif = events[tag][-1][1]
        assert gif[:6] == b"GIF89a", tag
        image = Image.open(__import__("io").BytesIO(gif))
        assert image.n_frames == 8 and image.size == (int(width), int(height)), tag
    assert os.path.exists(os.path.join(workdir, "samples", "step_0000004.gif"))

    # Running the finished run again says so and exits 0 without training.
    again = vidgan("train", f"--config={TINY}", f"--workdir={workdir}")
    assert again.returncode == 0, again.stderr
    assert "already finished: step 4 of 4" in again.stderr
    # A run that changes the model in the same workdir is refused, in one line.
    changed = vidgan("train", f"--config={TINY}", f"--workdir={workdir}",
                     "--config.model.resnet3d.generator.channels=4")
    assert changed.returncode == 2
    assert "model.resnet3d.generator.channels: 8 -> 4" in changed.stderr
    assert "Traceback" not in changed.stderr
    # Without config.json the checkpoint itself catches the mismatch, in one line too.
    os.remove(os.path.join(workdir, "config.json"))
    changed = vidgan("train", f"--config={TINY}", f"--workdir={workdir}",
                     "--config.model.resnet3d.generator.channels=4")
    assert changed.returncode == 2 and "does not match this config" in changed.stderr
    assert "Traceback" not in changed.stderr
    # Re-running the finished run added no event file.
    assert len(glob.glob(os.path.join(workdir, "events.out.tfevents.*"))) == 1


@pytest.mark.slow
def test_resume_after_sigkill_matches_uninterrupted_run(tmp_path):
    """Kill -9 a run after its step-3 checkpoint, restart it: it resumes at the saved step
    and ends with exactly the weights (G, D, EMA, Adam slots, counters) of a run that was
    never interrupted — so data position and RNG resume too."""
    killed = str(tmp_path / "killed")
    common = [f"--config={TINY}", "--config.train.checkpoint_every=3",
              "--config.train.log_every=1"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vidgan.cli.main", "train", *common, f"--workdir={killed}",
         "--config.train.steps=100000"], cwd=REPO, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 240
        while not glob.glob(os.path.join(killed, "checkpoints", "ckpt-*.index")):
            assert time.time() < deadline, "no checkpoint within 240 s"
            assert proc.poll() is None, "training exited early"
            time.sleep(0.2)
        time.sleep(1.0)  # let it train past the checkpoint before the kill
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    saved = int(tf.train.latest_checkpoint(os.path.join(killed, "checkpoints")).split("-")[-1])
    assert saved % 3 == 0 and saved >= 3
    target = saved + 2

    resumed = vidgan("train", *common, f"--workdir={killed}", f"--config.train.steps={target}")
    assert resumed.returncode == 0, resumed.stderr
    assert f"at step {saved}." in resumed.stderr  # "Resumed from ... at step N."
    fresh = str(tmp_path / "fresh")
    straight = vidgan("train", *common, f"--workdir={fresh}", f"--config.train.steps={target}")
    assert straight.returncode == 0, straight.stderr

    assert_same_checkpoints(os.path.join(killed, "checkpoints", f"ckpt-{target}"),
                            os.path.join(fresh, "checkpoints", f"ckpt-{target}"))


@pytest.mark.slow
def test_sigterm_saves_and_resume_matches_uninterrupted_run(tmp_path):
    """SIGTERM (preemption; Ctrl-C takes the same path, tests/test_stopping.py) mid-run: the step in flight finishes, a checkpoint
    at the step reached (>= the last logged step, between periodic checkpoints) is saved,
    the command exits 0 with one line saying so; a re-run resumes there and ends with
    exactly the weights of an uninterrupted run."""
    stopped = str(tmp_path / "stopped")
    common = [f"--config={TINY}", "--config.train.checkpoint_every=1000",
              "--config.train.log_every=1", "--config.train.sample_every=1000"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vidgan.cli.main", "train", *common, f"--workdir={stopped}",
         "--config.train.steps=100000"], cwd=REPO, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    logged = []
    try:
        deadline = time.time() + 240
        for line in proc.stdout:  # absl logs to stderr, merged here
            assert time.time() < deadline, "no step logged within 240 s"
            if " step " in line and "/100000" in line:
                logged.append(int(line.split(" step ")[1].split("/")[0]))
                if logged[-1] >= 3:
                    break
        assert logged, "training exited before logging a step"
        proc.send_signal(signal.SIGTERM)
        rest = proc.stdout.read()
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, rest
    assert "Traceback" not in rest, rest
    assert "Stopped by SIGTERM at step" in rest and "Re-run the same command" in rest
    saved = int(tf.train.latest_checkpoint(os.path.join(stopped, "checkpoints")).split("-")[-1])
    assert saved >= logged[-1] and saved < 1000
    target = saved + 2

    resumed = vidgan("train", *common, f"--workdir={stopped}", f"--config.train.steps={target}")
    assert resumed.returncode == 0, resumed.stderr
    assert f"at step {saved}." in resumed.stderr
    fresh = str(tmp_path / "fresh")
    straight = vidgan("train", *common, f"--workdir={fresh}", f"--config.train.steps={target}")
    assert straight.returncode == 0, straight.stderr
    assert_same_checkpoints(os.path.join(stopped, "checkpoints", f"ckpt-{target}"),
                            os.path.join(fresh, "checkpoints", f"ckpt-{target}"))


BAD_INPUTS = [
    (["--config.train.stepz=3"], "unknown config field 'stepz'. Did you mean \"steps\""),
    (["--config.train.steps=0"], "train.steps must be >= 1"),
    (["--config.train.steps=abc"], "flag --config.train.steps=abc: invalid literal"),
    (["--config.loss.name=wgan"], "loss.name: 'wgan' is not one of"),
    (["--config.data.height=15"], "must both be even"),
    (["--config.train.batch_size=3", "--config.train.cpu_devices=2"], "divide evenly"),
    ([], "--workdir is required"),
]


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory):
    """The commands that end before training, run side by side (each spends its seconds
    importing TensorFlow): a dry run, every bad input, a missing config file, an unknown
    subcommand, a corrupt run record and an unwritable workdir."""
    base = tmp_path_factory.mktemp("quick_runs")
    (base / "corrupt").mkdir()
    (base / "corrupt" / "config.json").write_text("{ not json")
    (base / "a_file").write_text("not a directory")
    commands = {
        "dry_run": vidgan_argv("train", f"--config={TINY}", "--config.train.g_lr=0.001",
                               "--dry_run"),
        "missing": vidgan_argv("train", "--config=experiments/nope.py", "--workdir=/tmp/x"),
        "unknown": vidgan_argv("trian"),
        "corrupt": vidgan_argv("train", f"--config={TINY}", f"--workdir={base / 'corrupt'}"),
        "unwritable": vidgan_argv("train", f"--config={TINY}",
                                  f"--workdir={base / 'a_file'}/run"),
    }
    for i, (args, _) in enumerate(BAD_INPUTS):
        commands[f"bad{i}"] = vidgan_argv("train", f"--config={TINY}", *args)
    return run_concurrently(commands, timeout=240)


def test_dry_run_prints_resolved_config_with_overrides(quick_runs):
    result = quick_runs["dry_run"]
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["train"]["g_lr"] == 0.001 and config["data"]["num_frames"] == 8


@pytest.mark.parametrize("case", range(len(BAD_INPUTS)))
def test_bad_inputs_fail_in_one_line(quick_runs, case):
    result, message = quick_runs[f"bad{case}"], BAD_INPUTS[case][1]
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_missing_config_file_and_unknown_subcommand(quick_runs):
    missing = quick_runs["missing"]
    assert missing.returncode == 2 and "No such file" in missing.stderr
    assert "Traceback" not in missing.stderr
    unknown = quick_runs["unknown"]
    assert unknown.returncode == 2 and "unknown subcommand 'trian'" in unknown.stderr


def test_corrupt_run_record_fails_in_one_line(quick_runs):
    result = quick_runs["corrupt"]
    assert result.returncode == 2 and "is not a vidgan run record" in result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_workdir_fails_in_one_line(quick_runs):
    result = quick_runs["unwritable"]
    assert result.returncode == 1
    assert "cannot write to workdir" in result.stderr and "Traceback" not in result.stderr
