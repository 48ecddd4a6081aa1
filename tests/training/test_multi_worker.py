"""Multi-worker training (train.strategy=multi_worker): worker processes on loopback
ports with TF_CONFIG, against one process mirrored over 2 CPU devices."""

import glob
import os

import pytest
import tensorflow as tf

from helpers import (REPO, assert_one_line_error, assert_same_checkpoints, run_concurrently,
                     vidgan, vidgan_argv)
from vidgan.training.workers import loopback_cluster

TINY = os.path.join(REPO, "experiments", "quickstart.py") + ":tiny"


@pytest.mark.slow
def test_two_workers_match_one_process_on_two_devices(tmp_path):
    """2 workers x 1 CPU device end with the weights (G, D, EMA, Adam slots, step) of 1
    process x 2 mirrored devices on the same global batch: each worker got its rows of
    every batch and its latents. Only the chief writes the workdir; the other worker's
    scratch checkpoints are gone. The run resumes on 2 workers, then on one process, to
    the weights of the mirrored run."""
    # float32: runs over different replica counts then differ only by float round-off
    # (bfloat16 would round the differently ordered sums far more).
    common = [f"--config={TINY}", "--config.train.steps=3", "--config.train.log_every=1",
              "--config.train.checkpoint_every=2", "--config.train.precision=float32"]
    workers = str(tmp_path / "workers")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    cluster = loopback_cluster(2)
    commands = {i: vidgan_argv("train", *common, f"--workdir={workers}",
                               "--config.train.strategy=multi_worker") for i in range(2)}
    commands["mirrored"] = vidgan_argv("train", *common, f"--workdir={tmp_path / 'mirrored'}",
                                       "--config.train.strategy=mirrored",
                                       "--config.train.cpu_devices=2")
    env = {i: {"TF_CONFIG": cluster[i], "TMPDIR": str(scratch)} for i in range(2)}
    results = run_concurrently(commands, timeout=300, env=env)
    for name, result in results.items():
        assert result.returncode == 0, (name, result.stderr[-3000:])
    assert "MultiWorkerMirroredStrategy over 2 replica(s)" in results[0].stderr

    assert_same_checkpoints(os.path.join(workers, "checkpoints", "ckpt-3"),
                            os.path.join(tmp_path, "mirrored", "checkpoints", "ckpt-3"))
    # One writer: one event file, one set of samples; no scratch left behind.
    assert len(glob.glob(os.path.join(workers, "events.out.tfevents.*"))) == 1
    assert sorted(os.listdir(os.path.join(workers, "samples"))) == sorted(
        os.listdir(os.path.join(tmp_path, "mirrored", "samples")))
    assert not list(scratch.iterdir())

    # Resume on another number of workers: the 2-worker run continues as 2 workers to step
    # 4, then as ONE process to step 5; the mirrored run goes to 5 straight. Same weights.
    cluster = loopback_cluster(2)
    env = {i: {"TF_CONFIG": cluster[i], "TMPDIR": str(scratch)} for i in range(2)}
    more = [a.replace("steps=3", "steps=4") for a in common]
    resumed = run_concurrently({i: vidgan_argv("train", *more, f"--workdir={workers}",
                                               "--config.train.strategy=multi_worker")
                                for i in range(2)}, timeout=300, env=env)
    for name, result in resumed.items():
        assert result.returncode == 0, (name, result.stderr[-3000:])
        assert "at step 3." in result.stderr  # "Resumed from ... at step 3."
    final = [a.replace("steps=3", "steps=5") for a in common]
    last = run_concurrently({
        "one": vidgan_argv("train", *final, f"--workdir={workers}",
                           "--config.train.strategy=one_device"),
        "mirrored": vidgan_argv("train", *final, f"--workdir={tmp_path / 'mirrored'}",
                                "--config.train.strategy=mirrored",
                                "--config.train.cpu_devices=2")}, timeout=300)
    for name, result in last.items():
        assert result.returncode == 0, (name, result.stderr[-3000:])
    assert "at step 4." in last["one"].stderr
    # One device sums gradients in another order than two: round-off over 5 steps.
    assert_same_checkpoints(os.path.join(workers, "checkpoints", "ckpt-5"),
                            os.path.join(tmp_path, "mirrored", "checkpoints", "ckpt-5"),
                            rtol=1e-4, atol=1e-5)


def test_multi_worker_without_a_cluster_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)  # the tests may run inside a cluster job
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    result = vidgan("train", f"--config={TINY}", f"--workdir={tmp_path}",
                    "--config.train.strategy=multi_worker")
    assert_one_line_error(result, "train", "needs the cluster in TF_CONFIG")


@pytest.mark.slow
def test_sigterm_to_one_worker_makes_every_worker_save_the_same_step(tmp_path):
    """Preemption of one worker (SIGTERM to worker 1 only): both finish the step in
    flight, save the same step between periodic checkpoints (saving is collective), and
    exit 0; worker 0 (the chief) says it stopped on another worker's signal."""
    import signal  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import time  # noqa: PLC0415

    from helpers import cli_env  # noqa: PLC0415

    workdir = str(tmp_path / "workers")
    cluster = loopback_cluster(2)
    argv = vidgan_argv("train", f"--config={TINY}", f"--workdir={workdir}",
                       "--config.train.strategy=multi_worker", "--config.train.steps=100000",
                       "--config.train.log_every=1", "--config.train.checkpoint_every=1000",
                       "--config.train.sample_every=1000")
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              cwd=REPO, env={**cli_env(), "TF_CONFIG": cluster[i],
                                             "TMPDIR": str(tmp_path)}) for i in range(2)]
    try:
        deadline = time.time() + 240
        for line in procs[1].stdout:  # worker 1 logs its steps too
            assert time.time() < deadline, "no step logged within 240 s"
            if " step 3/100000" in line:
                break
        procs[1].send_signal(signal.SIGTERM)
        logs = [procs[1].stdout.read(), procs[0].communicate(timeout=120)[0]]
        codes = [procs[1].wait(timeout=120), procs[0].returncode]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    assert codes == [0, 0], logs
    assert "Stopped by SIGTERM at step" in logs[0]
    assert "Stopped by another worker's stop signal at step" in logs[1]
    steps = [int(log.split("Stopped by")[1].split(" at step ")[1].split()[0]) for log in logs]
    assert steps[0] == steps[1] and 3 <= steps[0] < 1000
    saved = tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints"))
    assert saved.endswith(f"ckpt-{steps[0]}")
