"""SavedModel export: version folders, step/EMA/version choices, loading without vidgan,
determinism of the seed -> video mapping, graph-side input checks, saved_model_cli and
the `vidgan export` subcommand."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from helpers import LOADER, assert_one_line_error, run_concurrently, vidgan_argv
from vidgan import config as config_lib
from vidgan import export as export_lib
from vidgan import pixels
from vidgan.training import Trainer

SIGNATURES = {"serving_default", "generate", "generate_truncated", "generate_from_latents",
              "metadata"}
VIDEO_SHAPE = (8, 16, 16, 3)  # make_tiny: T x H x W, RGB
Z_DIM = 16  # the `trained` fixture's (conftest.py)


def to_uint8(video):
    """The exporter's float [-1, 1] -> uint8 rule, in NumPy."""
    return np.clip(np.round((np.asarray(video) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def seeds(*values):
    return tf.constant(values, tf.int64)


def read_metadata(module):
    return json.loads(module.signatures["metadata"]()["json"].numpy())


@pytest.fixture(scope="module")
def model(trained):
    return tf.saved_model.load(trained.version_dir)


# --- export() ------------------------------------------------------------------------

def test_export_writes_version_folder_named_after_step(trained):
    """Default export goes to export_dir/<step> with saved_model.pb and no staging leftovers."""
    assert trained.version_dir == os.path.join(trained.export_dir, "4")
    assert os.path.isfile(os.path.join(trained.version_dir, "saved_model.pb"))
    assert os.listdir(trained.export_dir) == ["4"]


def test_export_again_is_refused_unless_overwrite(trained, tmp_path):
    """Re-exporting a version raises ExportError naming --overwrite; overwrite=True replaces it."""
    with pytest.raises(export_lib.ExportError, match="--overwrite"):
        export_lib.export(trained.workdir, trained.export_dir)
    assert os.listdir(trained.export_dir) == ["4"]

    export_dir = str(tmp_path / "export")
    shutil.copytree(trained.export_dir, export_dir)
    marker = os.path.join(export_dir, "4", "stale_file")
    with open(marker, "w") as f:
        f.write("from the previous export")
    path = export_lib.export(trained.workdir, export_dir, overwrite=True)
    assert path == os.path.join(export_dir, "4")
    assert not os.path.exists(marker)
    assert os.path.isfile(os.path.join(path, "saved_model.pb"))
    assert sorted(os.listdir(export_dir)) == ["4"]
    assert read_metadata(tf.saved_model.load(path))["step"] == 4


def test_export_version_names_the_folder(trained, tmp_path):
    """version=7 writes export_dir/7 (the metadata still records training step 4)."""
    path = export_lib.export(trained.workdir, str(tmp_path), version=7)
    assert path == os.path.join(str(tmp_path), "7")
    assert os.path.isfile(os.path.join(path, "saved_model.pb"))
    assert read_metadata(tf.saved_model.load(path))["step"] == 4


def test_export_step_selects_checkpoint(trained, tmp_path):
    """step=2 exports the step-2 checkpoint into folder 2, with metadata step 2."""
    path = export_lib.export(trained.workdir, str(tmp_path), step=2)
    assert path == os.path.join(str(tmp_path), "2")
    metadata = read_metadata(tf.saved_model.load(path))
    assert metadata["step"] == 2 and metadata["ema"] is True


def test_export_missing_step_lists_available_steps(trained, tmp_path):
    """step=3 (no such checkpoint) raises ExportError listing the available steps."""
    with pytest.raises(export_lib.ExportError, match=re.escape("available steps: [2, 4]")):
        export_lib.export(trained.workdir, str(tmp_path), step=3)
    assert os.listdir(tmp_path) == []


def amplified_videos(module, scale=30.0, seed_values=(0, 1, 2)):
    """Videos for the seeds' latents times `scale`: after 4 training steps the videos are
    nearly flat gray (std ~1 level), so weight differences can vanish in uint8 rounding;
    at 30x they show as tens of levels."""
    latents = module.signatures["generate"](seed=seeds(*seed_values))["latents"]
    return module.signatures["generate_from_latents"](latents=latents * scale)["video"].numpy()


@pytest.fixture(scope="module")
def raw_model(trained, tmp_path_factory):
    return tf.saved_model.load(
        export_lib.export(trained.workdir, str(tmp_path_factory.mktemp("raw")), ema=False))


def test_export_raw_generator_differs_from_ema(model, raw_model):
    """ema=False exports the raw generator: same latents, other weights, other videos."""
    assert read_metadata(raw_model)["ema"] is False and read_metadata(model)["ema"] is True
    a = model.signatures["generate"](seed=seeds(0, 1, 2))
    b = raw_model.signatures["generate"](seed=seeds(0, 1, 2))
    np.testing.assert_array_equal(a["latents"].numpy(), b["latents"].numpy())
    assert not np.array_equal(amplified_videos(model), amplified_videos(raw_model))




def test_exporting_same_checkpoint_twice_gives_same_model(trained, model, tmp_path):
    """Two exports of the same checkpoint generate identical videos."""
    again = tf.saved_model.load(export_lib.export(trained.workdir, str(tmp_path), version=9))
    np.testing.assert_array_equal(amplified_videos(again), amplified_videos(model))


def test_export_without_config_or_checkpoints_fails(trained, tmp_path):
    """A folder without config.json, or a run without checkpoints, raises ExportError."""
    with pytest.raises(export_lib.ExportError, match="no config.json"):
        export_lib.export(str(tmp_path / "nothing_here"), str(tmp_path / "out1"))
    empty_run = tmp_path / "no_checkpoints"
    empty_run.mkdir()
    shutil.copy(os.path.join(trained.workdir, "config.json"), empty_run)
    with pytest.raises(export_lib.ExportError, match="no checkpoint in"):
        export_lib.export(str(empty_run), str(tmp_path / "out2"))
    assert not os.path.exists(tmp_path / "out1") and not os.path.exists(tmp_path / "out2")


def test_export_corrupt_config_json_raises_export_error(trained, tmp_path):
    """A corrupt config.json raises ExportError, not the training-side ConfigError."""
    workdir = tmp_path / "corrupt"
    workdir.mkdir()
    (workdir / "config.json").write_text("{ not json")
    with pytest.raises(export_lib.ExportError, match="config.json"):
        export_lib.export(str(workdir), str(tmp_path / "out"))


# --- loading without vidgan, keras or tensorflow_io ----------------------------------

@pytest.fixture(scope="module")
def standalone(trained):
    """Result of loading the export in a fresh interpreter where vidgan, keras and
    tensorflow_io cannot be imported (cwd /tmp, no PYTHONPATH)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    result = subprocess.run([sys.executable, "-c", LOADER, trained.version_dir],
                            capture_output=True, text=True, timeout=180, cwd="/tmp", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0][len("RESULT "):])


def test_loads_and_generates_without_vidgan_keras_or_tensorflow_io(standalone):
    """Without vidgan/keras/tensorflow_io the SavedModel loads and generates as documented."""
    assert standalone["blocked"] == ["vidgan", "keras", "tensorflow_io"]
    assert standalone["leaked"] == []
    assert set(standalone["signatures"]) == SIGNATURES
    assert standalone["video_shape"] == [4, *VIDEO_SHAPE]
    assert standalone["video_dtype"] == "uint8"
    assert standalone["latents_shape"] == [4, Z_DIM]
    assert standalone["latents_dtype"] == "float32"
    meta = standalone["metadata"]
    assert {"step", "num_frames", "height", "width", "fps", "z_dim", "vidgan_version",
            "config"} <= set(meta)
    assert (meta["step"], meta["num_frames"], meta["height"], meta["width"], meta["fps"],
            meta["z_dim"]) == (4, 8, 16, 16, 8, Z_DIM)
    assert meta["vidgan_version"] == __import__("vidgan").__version__
    assert meta["config"]["model"]["dcgan3d"]["generator"]["z_dim"] == Z_DIM


def test_same_seeds_give_same_bytes_across_loads_and_processes(standalone, model, trained):
    """Separate loads (another process, another load here) give identical bytes per seed."""
    video = model.signatures["generate"](seed=seeds(3, 4, 5, 6))["video"].numpy()
    assert standalone["hashes"] == [hashlib.sha256(v.tobytes()).hexdigest() for v in video]
    assert standalone["alone_hash"] == standalone["hashes"][2]
    again = tf.saved_model.load(trained.version_dir)
    np.testing.assert_array_equal(
        again.signatures["generate"](seed=seeds(3, 4, 5, 6))["video"].numpy(), video)


# --- determinism and the latent rule (in-process) --------------------------------------

def test_seed_gives_same_video_at_every_batch_size(model):
    """Seed 5 alone gives exactly the video and latents it gets inside the batch [3, 4, 5, 6]."""
    alone = model.signatures["generate"](seed=seeds(5))
    batch = model.signatures["generate"](seed=seeds(3, 4, 5, 6))
    np.testing.assert_array_equal(alone["video"].numpy()[0], batch["video"].numpy()[2])
    np.testing.assert_array_equal(alone["latents"].numpy()[0], batch["latents"].numpy()[2])


def test_different_seeds_give_different_videos(model):
    """Each of four seeds gives a distinct video."""
    video = model.signatures["generate"](seed=seeds(3, 4, 5, 6))["video"].numpy()
    assert len({v.tobytes() for v in video}) == 4


def test_latents_follow_documented_rule(model):
    """latents[i] == stateless_normal([z_dim], seed=[seed_i, 0]), as metadata says."""
    meta = read_metadata(model)
    assert "tf.random.stateless_normal([z_dim], seed=[seed[i], 0])" in meta["latent_rule"]
    values = [0, 5, 123456789, 2**40 + 3]
    latents = model.signatures["generate"](seed=seeds(*values))["latents"].numpy()
    for row, seed in zip(latents, values):
        expected = tf.random.stateless_normal([meta["z_dim"]], seed=tf.constant([seed, 0],
                                                                                tf.int64))
        np.testing.assert_array_equal(row, expected.numpy())


def test_truncation_scales_latents(model):
    """Truncation 0.5 halves the latents, and the video is the generator's for those latents."""
    full = model.signatures["generate"](seed=seeds(1, 2))
    half = model.signatures["generate_truncated"](seed=seeds(1, 2),
                                                  truncation=tf.constant(0.5))
    np.testing.assert_allclose(half["latents"].numpy(), 0.5 * full["latents"].numpy(),
                               rtol=1e-6)
    again = model.signatures["generate_from_latents"](latents=half["latents"])
    np.testing.assert_array_equal(again["video"].numpy(), half["video"].numpy())
    assert not np.array_equal(half["video"].numpy(), full["video"].numpy())


def test_generate_from_latents_reproduces_generate(model):
    """generate_from_latents(latents of generate) returns exactly generate's videos."""
    out = model.signatures["generate"](seed=seeds(7, 8, 9))
    again = model.signatures["generate_from_latents"](latents=out["latents"])
    assert again["video"].dtype == tf.uint8
    np.testing.assert_array_equal(again["video"].numpy(), out["video"].numpy())


def test_saved_model_matches_restored_trainer_generators(trained, model, raw_model):
    """The restored Trainer's EMA/raw generators match the ema/raw exports up to uint8 rounding."""
    trainer = Trainer(trained.config, trained.workdir, tf.distribute.OneDeviceStrategy("/cpu:0"))
    assert trainer.restore() == 4
    latents = model.signatures["generate"](seed=seeds(0, 1, 2))["latents"]
    for scale in (1.0, 30.0):
        z = latents * scale
        for module, expected in ((model, trainer.sample(z)),
                                 (raw_model, trainer.generator(z, training=False))):
            exported = module.signatures["generate_from_latents"](latents=z)["video"].numpy()
            expected = to_uint8(expected)
            assert expected.shape == exported.shape == (3, *VIDEO_SHAPE)
            diff = np.abs(expected.astype(int) - exported.astype(int)).max()
            assert diff <= 1, (scale, read_metadata(module)["ema"], diff)


# --- saved_model_cli -------------------------------------------------------------------

def _saved_model_cli():
    beside = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    return beside if os.path.exists(beside) else shutil.which("saved_model_cli")


def test_saved_model_cli_shows_signatures(trained):
    """saved_model_cli shows every signature, int64 seeds and uint8 (-1, 8, 16, 16, 3) videos."""
    exe = _saved_model_cli()
    assert exe, "saved_model_cli not found"
    result = subprocess.run([exe, "show", "--dir", trained.version_dir, "--all"],
                            capture_output=True, text=True, timeout=180,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    blocks = {m.group(1): m.group(2) for m in re.finditer(
        r"signature_def\['(\w+)'\]:(.*?)(?=signature_def\[|\Z)", result.stdout, re.S)}
    assert SIGNATURES <= set(blocks), result.stdout
    for name in ("serving_default", "generate", "generate_truncated"):
        assert re.search(r"inputs\['seed'\] tensor_info:\s+dtype: DT_INT64", blocks[name]), name
    for name in ("serving_default", "generate", "generate_truncated", "generate_from_latents"):
        assert re.search(r"outputs\['video'\] tensor_info:\s+dtype: DT_UINT8\s+"
                         r"shape: \(-1, 8, 16, 16, 3\)", blocks[name]), name
    assert re.search(r"outputs\['json'\] tensor_info:\s+dtype: DT_STRING", blocks["metadata"])


# --- input checks in the graph ---------------------------------------------------------

@pytest.mark.parametrize("signature, inputs, message", [
    ("generate", lambda: {"seed": tf.constant([[1, 2]], tf.int64)},
     "seed must be a 1-D int64 tensor"),
    ("generate_from_latents", lambda: {"latents": tf.zeros([2, 5])},
     f"latents must be float32 [N, {Z_DIM}]"),
    ("generate_from_latents", lambda: {"latents": tf.zeros([Z_DIM])},
     f"latents must be float32 [N, {Z_DIM}]"),
    ("generate_truncated", lambda: {"seed": tf.constant([1], tf.int64),
                                    "truncation": tf.constant(0.0)},
     "truncation must be > 0"),
    ("generate_from_latents", lambda: {"latents": tf.fill([2, Z_DIM], float("nan"))},
     "latents must be finite"),
], ids=["seed_rank2", "latents_2x5", "latents_rank1", "truncation_0", "latents_nan"])
def test_bad_inputs_raise_invalid_argument_naming_input(model, signature, inputs, message):
    """Bad shapes and values fail inside the graph with InvalidArgument naming the input."""
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        model.signatures[signature](**inputs())
    assert message in str(info.value)


def test_float_seed_is_rejected_by_signature(model):
    """A float32 seed fed to the int64 `generate` signature raises InvalidArgument."""
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        model.signatures["generate"](seed=tf.constant([1.0, 2.0]))
    assert "int64" in str(info.value) and "float" in str(info.value)


# --- `vidgan export` -------------------------------------------------------------------

@pytest.fixture(scope="module")
def cli(trained, tmp_path_factory):
    base = tmp_path_factory.mktemp("export_cli")
    corrupt = base / "corrupt_run"
    corrupt.mkdir()
    (corrupt / "config.json").write_text("{ not json")
    return base, run_concurrently({
        "ok": vidgan_argv("export", f"--workdir={trained.workdir}",
                          f"--export_dir={base / 'export'}", "--precision=bfloat16"),
        "bad_precision": vidgan_argv("export", f"--workdir={trained.workdir}",
                                     f"--export_dir={base / 'e4'}", "--precision=int8"),
        "no_workdir_flag": vidgan_argv("export", f"--export_dir={base / 'e1'}"),
        "missing_workdir": vidgan_argv("export", f"--workdir={base / 'nope'}",
                                       f"--export_dir={base / 'e2'}"),
        "exists": vidgan_argv("export", f"--workdir={trained.workdir}",
                              f"--export_dir={trained.export_dir}"),
        "corrupt_config": vidgan_argv("export", f"--workdir={corrupt}",
                                      f"--export_dir={base / 'e3'}"),
    })


def test_cli_export_writes_and_prints_version_folder(cli):
    """`vidgan export` exits 0, prints the version folder, and the folder holds the model."""
    base, results = cli
    result = results["ok"]
    assert result.returncode == 0, result.stderr[-3000:]
    path = os.path.join(str(base / "export"), "4")
    assert f"exported to {path}" in result.stdout
    assert os.path.isfile(os.path.join(path, "saved_model.pb"))
    assert read_metadata(tf.saved_model.load(path))["precision"]["weights"] == "bfloat16"


@pytest.mark.parametrize("case, message", [
    ("no_workdir_flag", "--workdir is required"),
    ("missing_workdir", "is not a vidgan training run (no config.json)"),
    ("exists", "exists; pass --overwrite"),
    ("corrupt_config", "is not a vidgan run record"),
    ("bad_precision", "unknown precision 'int8'; use one of float32, float16, bfloat16"),
])
def test_cli_export_errors_are_one_line(cli, trained, case, message):
    """Bad export requests exit 2 with one error line, no traceback, and write nothing."""
    base, results = cli
    assert_one_line_error(results[case], "export", message)
    assert not any(os.path.exists(base / name) for name in ("e1", "e2", "e3", "e4"))
    assert os.listdir(trained.export_dir) == ["4"]


@pytest.mark.parametrize("precision", ["bfloat16", "float16"])
def test_16_bit_exports_store_half_the_weights_and_make_the_same_videos(trained, tmp_path,
                                                                       precision):
    """--precision: every float variable of the SavedModel is 16-bit (about half the
    bytes), metadata says what it computes in, the signatures are float32's, and the
    videos of the same seeds are float32's within a few levels."""
    path = export_lib.export(trained.workdir, str(tmp_path / precision), precision=precision)
    low, full = tf.saved_model.load(path), tf.saved_model.load(trained.version_dir)
    meta = read_metadata(low)
    assert meta["precision"]["weights"] == precision
    assert meta["precision"]["compute"] in (precision, "float32")
    assert set(low.signatures) == set(full.signatures)
    reader = tf.train.load_checkpoint(os.path.join(path, "variables", "variables"))
    dtypes = {d.name for name, d in reader.get_variable_to_dtype_map().items()
              if d.is_floating and not name.startswith("_CHECKPOINTABLE")}
    assert dtypes == {precision}
    size = lambda p: sum(os.path.getsize(os.path.join(p, "variables", n))  # noqa: E731
                         for n in os.listdir(os.path.join(p, "variables")))
    assert size(path) < 0.6 * size(trained.version_dir)
    a = low.signatures["generate"](seed=seeds(0, 1, 2))["video"].numpy().astype(int)
    b = full.signatures["generate"](seed=seeds(0, 1, 2))["video"].numpy().astype(int)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.abs(a - b).mean() < 1.0 and np.abs(a - b).max() <= 16
    # ... and it loads and generates without vidgan, keras or tensorflow_io, too.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", LOADER, path], capture_output=True,
                            text=True, timeout=180, cwd="/tmp", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    alone = json.loads(result.stdout.split("RESULT ", 1)[1])
    assert alone["leaked"] == [] and alone["video_dtype"] == "uint8"
    assert alone["metadata"]["precision"]["weights"] == precision


def test_training_samples_are_the_exported_seeds(trained):
    """The fixed samples a run writes to TensorBoard are the exported model's videos of
    seeds 0..num_samples-1: one seed rule for training, export, synthesis and evaluation."""
    run = trained
    trainer = Trainer(run.config, run.workdir, tf.distribute.OneDeviceStrategy("/cpu:0"))
    assert trainer.restore() == 4
    samples = pixels.to_uint8(trainer.sample()).numpy()
    loaded = tf.saved_model.load(run.version_dir)
    n = run.config.train.num_samples
    exported = loaded.signatures["generate"](seed=tf.range(n, dtype=tf.int64))["video"]
    np.testing.assert_array_equal(samples, exported.numpy())


def test_resnet3d_run_exports(tmp_path):
    """A resnet3d run (DiffAugment, dual discriminator) exports like any family: the
    SavedModel's video for seed s is the EMA generator's, and metadata names the family."""
    cfg = config_lib.default_config()
    cfg.model.generator.name = "resnet3d"
    cfg.model.resnet3d.discriminator.frames = 2
    cfg.train.augment = "color,translation,cutout"
    config = config_lib.from_dict(config_lib.make_tiny(cfg))
    workdir = str(tmp_path / "run")
    trainer = Trainer(config, workdir, tf.distribute.OneDeviceStrategy("/cpu:0"))
    assert trainer.train() == 4
    version_dir = export_lib.export(workdir, str(tmp_path / "export"))
    loaded = tf.saved_model.load(version_dir)
    meta = json.loads(loaded.signatures["metadata"]()["json"].numpy().decode())
    assert meta["family"] == "resnet3d" and meta["z_dim"] == 128
    videos = loaded.signatures["generate"](seed=seeds(0, 7))["video"].numpy()
    assert videos.shape == (2, *VIDEO_SHAPE) and videos.dtype == np.uint8
    keras_videos = trainer.sample()[[0]]  # seed 0 is the first fixed sample
    np.testing.assert_array_equal(videos[0], pixels.to_uint8(keras_videos).numpy()[0])


def test_motion_content_run_exports_every_noise_input_as_latents(tmp_path):
    """A motion-content run exports: its latents are the content code and the motion
    codes, flattened, each drawn by the rule metadata states; generate_from_latents
    reproduces generate; seed 0's video is the EMA generator's."""
    cfg = config_lib.default_config()
    cfg.model.generator.name = "motion"
    config = config_lib.from_dict(config_lib.make_tiny(cfg))
    workdir = str(tmp_path / "run")
    trainer = Trainer(config, workdir, tf.distribute.OneDeviceStrategy("/cpu:0"))
    assert trainer.train() == 4
    loaded = tf.saved_model.load(export_lib.export(workdir, str(tmp_path / "export")))
    meta = json.loads(loaded.signatures["metadata"]()["json"].numpy().decode())
    anchors = 3  # 8 frames, a motion code every 4: frames 0, 4, 8
    assert meta["family"] == "motion" and meta["z_dim"] == 128 + anchors * 32
    assert "stateless_fold_in([seed[i], 0], 1)" in meta["latent_rule"]
    out = loaded.signatures["generate"](seed=seeds(0, 7))
    pair = tf.constant([7, 0], tf.int64)
    expected = np.concatenate([
        tf.random.stateless_normal([128], seed=pair).numpy(),
        tf.random.stateless_normal([anchors, 32], seed=tf.random.experimental.stateless_fold_in(
            pair, 1)).numpy().ravel()])
    np.testing.assert_array_equal(out["latents"].numpy()[1], expected)
    again = loaded.signatures["generate_from_latents"](latents=out["latents"])
    np.testing.assert_array_equal(again["video"].numpy(), out["video"].numpy())
    keras_videos = trainer.sample()[[0]]  # seed 0 is the first fixed sample
    np.testing.assert_array_equal(out["video"].numpy()[0],
                                  pixels.to_uint8(keras_videos).numpy()[0])
    # Any length: 4T frames whose first T are generate's; the trainer renders the same.
    assert meta["any_length"] is True
    long = loaded.signatures["generate_frames"](seed=seeds(0, 7),
                                                num_frames=tf.constant(32))["video"].numpy()
    assert long.shape == (2, 32, 16, 16, 3) and long.dtype == np.uint8
    # uint8 of float renders that agree to ~1e-6: at most one level apart
    assert np.abs(long[:, :8].astype(int) - out["video"].numpy().astype(int)).max() <= 1
    np.testing.assert_array_equal(
        pixels.to_uint8(trainer.sample(num_frames=32)[[0]]).numpy()[0], long[0])
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_frames must be"):
        loaded.signatures["generate_frames"](seed=seeds(0), num_frames=tf.constant(0))
    # `vidgan synthesize --num_frames=32` writes those renders.
    from vidgan.synthesis import SynthesisRequest, synthesize  # noqa: PLC0415

    out_dir = tmp_path / "long"
    synthesize(SynthesisRequest(model_dir=str(tmp_path / "export"), out_dir=str(out_dir),
                                num_videos=2, format="npz", num_frames=32), progress=False)
    with np.load(out_dir / "seed_00000000.npz") as written:
        np.testing.assert_array_equal(written["video"], long[0])
    with np.load(out_dir / "seed_00000001.npz") as written:
        assert written["video"].shape == (32, 16, 16, 3)
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["settings"]["num_frames"] == 32


def test_readme_serving_request_runs_against_the_signature(model):
    """The README's TF Serving request, as TF Serving reads it (columnar "inputs", each
    converted to the signature's dtype), gives the documented response shapes."""
    with open(os.path.join(os.path.dirname(os.path.dirname(__file__)), "README.md")) as f:
        readme = f.read()
    section = readme[readme.index("### TF Serving"):]
    body = re.search(r"```json\n(.*?)\n```", section, re.S).group(1)
    request = json.loads(body)
    signature = model.signatures[request["signature_name"]]
    specs = signature.structured_input_signature[1]
    inputs = {name: tf.constant(value, specs[name].dtype)
              for name, value in request["inputs"].items()}
    out = signature(**inputs)
    n = len(request["inputs"]["seed"])
    assert out["video"].shape == (n, *VIDEO_SHAPE) and out["video"].dtype == tf.uint8
    assert out["latents"].shape == (n, Z_DIM)
    # JSON round trip of the response: integers 0..255 and floats, as REST returns them.
    response = {"outputs": {k: v.numpy().tolist() for k, v in out.items()}}
    assert np.asarray(json.loads(json.dumps(response))["outputs"]["video"]).max() <= 255
