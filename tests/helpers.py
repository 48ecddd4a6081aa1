"""What several test modules need: running the CLI, reading TensorBoard events, writing
small videos, the I3D weights. Test modules import from here (and fixtures come from
conftest.py); no test module imports another."""

from __future__ import annotations

import glob
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The real clips CI has beside the checkout (a user's machine does not: tests skip).
SHARED_VIDEOS = os.path.join(os.path.dirname(REPO), "shared", "data", "videos")
NO_SHARED_VIDEOS = f"no shared real videos at {os.path.normpath(SHARED_VIDEOS)} (CI has them)"


def require_shared_videos() -> list[str]:
    """The shared real clips' paths, sorted; skips the test (with the reason) without them."""
    if not os.path.isdir(SHARED_VIDEOS):
        pytest.skip(NO_SHARED_VIDEOS)
    return sorted(os.path.join(SHARED_VIDEOS, n) for n in os.listdir(SHARED_VIDEOS))


def cpu_devices() -> list[str]:
    """The 2 logical CPU devices conftest.py split the CPU into (for MirroredStrategy)."""
    from vidgan.training import split_cpu  # noqa: PLC0415

    return split_cpu(2)


def latents(batch: int, z_dim: int, seed: int = 0, stream: int = 3):
    """A fixed batch of N(0, 1) latents [batch, z_dim] (stateless: the same every run)."""
    import tensorflow as tf  # noqa: PLC0415

    return tf.random.stateless_normal([batch, z_dim], seed=[seed, stream])


def one_device():
    import tensorflow as tf  # noqa: PLC0415

    return tf.distribute.OneDeviceStrategy("/cpu:0")


def mirrored():
    """MirroredStrategy over the 2 logical CPU devices conftest.py made."""
    import tensorflow as tf  # noqa: PLC0415

    return tf.distribute.MirroredStrategy(
        cpu_devices(), cross_device_ops=tf.distribute.ReductionToOneDevice())


def copy_weights(source, target) -> None:
    """Gives trainer `target` the generator, EMA generator and discriminator weights of
    trainer `source`, so two strategies start from the same point."""
    with target.strategy.scope():
        for name in ("generator", "ema_generator", "discriminator"):
            getattr(target, name).set_weights(getattr(source, name).get_weights())


def with_family(config, family: str, updates: dict | None = None,
                discriminator: str = "auto", **more):
    """`config` (a tiny one) with another generator family and discriminator (default:
    the family's own), both at their family's tiny widths, then `updates` ({"dotted.field":
    value}) and `more` (the same, as keywords: **{"loss.name": ...}) applied."""
    from vidgan import config as config_lib  # noqa: PLC0415
    from vidgan import models  # noqa: PLC0415

    values = config_lib.to_dict(config)
    # every family section back at its defaults
    values["model"] = {"generator": {"name": family}, "discriminator": {"name": discriminator}}
    cd = config_lib.ml_collections.ConfigDict(config_lib.to_dict(config_lib.from_dict(values)))
    d = models.discriminator_family(cd.model)
    models.FAMILIES[family].tiny(cd.model[family].generator)
    models.FAMILIES[d].tiny(cd.model[d].discriminator)
    return config_lib.override(config_lib.from_dict(cd), {**(updates or {}), **more})


# --- the CLI in subprocesses -------------------------------------------------------------------
def cli_env() -> dict:
    """The environment of CLI subprocesses: this process's (as fixtures have set it), with
    TensorFlow's C++ INFO and WARNING lines off."""
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}


def vidgan_argv(*args) -> list[str]:
    """argv of `vidgan <args>` through the installed package's entry module."""
    return [sys.executable, "-m", "vidgan.cli.main", *args]


def vidgan(*args, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    """Runs `vidgan <args>` from the repo and waits: the CompletedProcess (text output)."""
    return subprocess.run(vidgan_argv(*args), capture_output=True, text=True, timeout=timeout,
                          env=cli_env(), cwd=REPO, **kwargs)


def run_concurrently(commands: dict, timeout: float = 180, env: dict | None = None) -> dict:
    """{name: argv} -> {name: CompletedProcess}: the processes run side by side (each
    spends seconds importing TensorFlow). `env`: {name: extra environment variables}."""
    env = env or {}
    procs = {name: subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, env={**cli_env(), **env.get(name, {})},
                                    cwd=REPO)
             for name, argv in commands.items()}
    results = {}
    for name, proc in procs.items():
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        results[name] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return results


def checkpoint_values(path: str) -> dict:
    """Every saved variable of a tf.train.Checkpoint (weights, optimizer slots, counters;
    not the save counter) by name."""
    import tensorflow as tf  # noqa: PLC0415

    reader = tf.train.load_checkpoint(path)
    names = [n for n in reader.get_variable_to_shape_map() if "/.ATTRIBUTES/" in n]
    return {n: reader.get_tensor(n) for n in names if "save_counter" not in n}


def assert_same_checkpoints(a_path: str, b_path: str, rtol: float = 1e-5,
                            atol: float = 1e-6) -> dict:
    """The two checkpoints hold the same variables (G, D, EMA, Adam slots, step), equal
    within float round-off; returns the first's values."""
    import numpy as np  # noqa: PLC0415

    a, b = checkpoint_values(a_path), checkpoint_values(b_path)
    assert a.keys() == b.keys() and len(a) > 20
    assert any("ema_generator" in n for n in a) and any("d_optimizer" in n for n in a)
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=rtol, atol=atol, err_msg=name)
    return a


def assert_one_line_error(result, command: str, message: str, code: int = 2) -> None:
    """Exit `code` (2: a bad request or config; 1: the data, model or files failed),
    exactly one `vidgan <command>: error:` line (the last one) naming the problem, and no
    traceback."""
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(f"vidgan {command}: error:")]
    assert len(errors) == 1 and errors[0] == lines[-1], result.stderr
    assert message in errors[0], result.stderr
    assert "Traceback" not in result.stderr


def last_line(result) -> str:
    return [line for line in result.stderr.splitlines() if line.strip()][-1]


# --- TensorBoard -------------------------------------------------------------------------------
def read_events(workdir: str) -> dict:
    """{tag: [(step, value-or-bytes)]} from every event file in workdir."""
    import tensorflow as tf  # noqa: PLC0415

    out: dict = {}
    for path in glob.glob(os.path.join(workdir, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for v in event.summary.value:
                out.setdefault(v.tag, []).append((event.step, tf.make_ndarray(v.tensor)))
    return out


# --- small video files -------------------------------------------------------------------------
def write_video(path, frames: np.ndarray, fps: float, fourcc: str = "MJPG") -> str:
    """uint8 RGB frames [T, H, W, 3] -> a video file (MJPG .avi unless `fourcc` says)."""
    path = str(path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), fps,
                             (frames.shape[2], frames.shape[1]))
    assert writer.isOpened(), path
    for frame in frames:
        writer.write(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def write_truncated(source, path, fraction: float = 0.4) -> str:
    """A copy of `source` cut to `fraction` of its bytes: probes fine, fails when decoded."""
    with open(source, "rb") as f:
        data = f.read()
    os.makedirs(os.path.dirname(str(path)) or ".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(data[: int(len(data) * fraction)])
    return str(path)


def overstate_avi_length(path, claimed: int) -> str:
    """Patches an .avi's header (avih dwTotalFrames and strh dwLength) to claim `claimed`
    frames: it probes as `claimed` and decodes to the frames it has."""
    import struct  # noqa: PLC0415

    with open(path, "rb") as f:
        data = bytearray(f.read())
    avih, strh = data.find(b"avih"), data.find(b"strh")
    assert avih > 0 and strh > 0, path
    struct.pack_into("<I", data, avih + 8 + 16, claimed)  # after fourcc + size: 4th field
    struct.pack_into("<I", data, strh + 8 + 32, claimed)
    with open(path, "wb") as f:
        f.write(bytes(data))
    return str(path)


# --- a SavedModel loaded without vidgan -----------------------------------------------------
# A script: argv[1] a SavedModel dir; imports of vidgan, keras and tensorflow_io are blocked;
# prints RESULT <json> of what `generate` gave.
def block_imports(*names: str) -> str:
    """Python source that makes `names` (top-level packages) unimportable in the script
    it starts, and lists in `blocked` those that then fail to import."""
    return BLOCK_IMPORTS.replace("BLOCKED = ()", f"BLOCKED = {names!r}")


BLOCK_IMPORTS = r'''
import importlib.abc, importlib.machinery, sys

BLOCKED = ()


class _Blocked(importlib.abc.Loader):
    def create_module(self, spec):
        raise ImportError(f"{spec.name} is blocked in this test")

    def exec_module(self, module):
        raise ImportError("blocked")


class _Finder(importlib.abc.MetaPathFinder):
    # Found but unloadable: `import tensorflow` probes keras with find_spec, so raising
    # in find_spec itself would break TensorFlow's import.
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            return importlib.machinery.ModuleSpec(name, _Blocked())
        return None


sys.meta_path.insert(0, _Finder())
blocked = []
for name in BLOCKED:
    try:
        __import__(name)
    except ImportError:
        blocked.append(name)
'''

LOADER = block_imports("vidgan", "keras", "tensorflow_io") + r'''
import hashlib, json

import tensorflow as tf

model = tf.saved_model.load(sys.argv[1])
out = model.signatures["generate"](seed=tf.constant([3, 4, 5, 6], tf.int64))
alone = model.signatures["generate"](seed=tf.constant([5], tf.int64))
meta = json.loads(model.signatures["metadata"]()["json"].numpy())
video = out["video"].numpy()
print("RESULT " + json.dumps({
    "blocked": blocked,
    "leaked": sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED),
    "signatures": sorted(model.signatures),
    "video_shape": list(video.shape), "video_dtype": video.dtype.name,
    "latents_shape": list(out["latents"].shape), "latents_dtype": out["latents"].dtype.name,
    "hashes": [hashlib.sha256(v.tobytes()).hexdigest() for v in video],
    "alone_hash": hashlib.sha256(alone["video"].numpy()[0].tobytes()).hexdigest(),
    "metadata": meta,
}))
'''


# --- I3D weights -------------------------------------------------------------------------------
def require_weights() -> str:
    """The converted I3D weights' path; skips without them, except on CI (which fetches
    them and must run the FVD tests)."""
    from vidgan.models import i3d  # noqa: PLC0415

    path = i3d.default_weights_path()
    if not os.path.exists(path):
        message = f"no I3D weights at {path}: run `vidgan fetch-i3d` once (about 47 MB)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI must run the I3D tests (.ci/run fetches them)",
                        pytrace=False)
        pytest.skip(message)
    return path
