"""LiteRT export (vidgan.export.litert): the flatbuffer and its metadata, loading with
ai-edge-litert alone, fidelity to the SavedModel for the same seeds per quantization,
synthesis from a .tflite, and one-line refusals."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from helpers import REPO, assert_one_line_error, block_imports, run_concurrently, vidgan_argv
from vidgan import config as config_lib
from vidgan.export import litert
from vidgan.export.common import ExportError
from vidgan.synthesis import SynthesisRequest, synthesize
from vidgan.training import workdir as workdir_lib

SEEDS = [3, 4, 5, 6]
# Stated fidelity to the float32 SavedModel (PSNR of uint8 videos, the worst video):
# float32 runs the same arithmetic in another kernel library, float16 rounds weights to
# 11 significant bits, dynamic_range the dense weights to 8.
MIN_PSNR = {"none": 50.0, "float16": 40.0, "dynamic_range": 30.0}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


@pytest.fixture(scope="module")
def exports(trained, tmp_path_factory):
    """{quantize: version folder} for each quantization of the shared tiny run."""
    base = tmp_path_factory.mktemp("litert")
    return {q: litert.export_litert(trained.workdir, str(base / q), quantize=q)
            for q in litert.QUANTIZE}


@pytest.fixture(scope="module")
def reference(trained):
    """The SavedModel's latents and videos for SEEDS."""
    module = tf.saved_model.load(trained.version_dir)
    out = module.signatures["generate"](seed=tf.constant(SEEDS, tf.int64))
    return out["latents"].numpy(), out["video"].numpy()


def test_export_writes_flatbuffer_and_metadata(exports, trained):
    path = exports["none"]
    assert path.endswith(os.sep + "4")
    assert sorted(os.listdir(path)) == sorted([litert.METADATA_FILE, litert.MODEL_FILE])
    assert os.listdir(os.path.dirname(path)) == ["4"]  # no staging folder left
    with open(os.path.join(path, litert.METADATA_FILE)) as f:
        meta = json.load(f)
    assert meta["format"] == "litert" and meta["quantize"] == "none"
    assert meta["signature"] == "generate_from_latents" and meta["step"] == 4
    assert meta["z_dim"] == 16 and "stateless_normal" in meta["latent_rule"]
    assert meta["any_length"] is False
    sizes = {q: os.path.getsize(os.path.join(p, litert.MODEL_FILE)) for q, p in exports.items()}
    assert sizes["float16"] < 0.6 * sizes["none"] and sizes["dynamic_range"] < sizes["none"]


# Runs with ai-edge-litert and NumPy only: vidgan, keras and tensorflow are blocked.
_STANDALONE = block_imports("vidgan", "keras", "tensorflow") + r'''
import json
import numpy as np
from ai_edge_litert.interpreter import Interpreter

folder, latents_path, out_path = sys.argv[1:4]
meta = json.load(open(folder + "/metadata.json"))
runner = Interpreter(model_path=folder + "/generator.tflite").get_signature_runner(
    meta["signature"])
video = runner(latents=np.load(latents_path))["video"]
np.save(out_path, video)
print("RESULT " + json.dumps({"shape": list(video.shape), "dtype": video.dtype.name,
      "blocked": blocked,
      "leaked": sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)}))
'''


def test_flatbuffer_runs_without_tensorflow_and_matches_the_savedmodel(exports, reference,
                                                                      tmp_path):
    latents, expected = reference
    np.save(tmp_path / "latents.npy", latents)
    result = subprocess.run(
        [sys.executable, "-c", _STANDALONE, exports["none"], str(tmp_path / "latents.npy"),
         str(tmp_path / "video.npy")], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    line = [x for x in result.stdout.splitlines() if x.startswith("RESULT ")][-1]
    info = json.loads(line[len("RESULT "):])
    assert info == {"shape": [4, 8, 16, 16, 3], "dtype": "uint8", "leaked": [],
                    "blocked": ["vidgan", "keras", "tensorflow"]}
    video = np.load(tmp_path / "video.npy")
    assert min(psnr(v, e) for v, e in zip(video, expected)) >= MIN_PSNR["none"]


@pytest.mark.parametrize("quantize", litert.QUANTIZE)
def test_seed_gives_the_savedmodels_video_within_the_stated_psnr(exports, reference,
                                                                  quantize):
    """LiteRTModel draws the latents by export's rule: seed s's video is the SavedModel's
    for s, within MIN_PSNR, and not identical across seeds."""
    model = litert.LiteRTModel(exports[quantize])
    np.testing.assert_array_equal(model.latents(SEEDS), reference[0])
    video = model.generate(SEEDS)["video"].numpy()
    assert video.shape == (4, 8, 16, 16, 3) and video.dtype == np.uint8
    worst = min(psnr(v, e) for v, e in zip(video, reference[1]))
    assert worst >= MIN_PSNR[quantize], (quantize, worst)
    assert psnr(video[0], video[1]) < worst


def test_synthesize_from_litert_writes_the_savedmodels_files(exports, trained, tmp_path):
    """Same seeds, same file names; npz videos within the float32 PSNR; a .tflite path
    works as model_dir; a re-run skips what exists."""
    saved = synthesize(SynthesisRequest(trained.export_dir, str(tmp_path / "sm"), 3,
                                        format="npz"), progress=False)
    lite = synthesize(SynthesisRequest(os.path.dirname(exports["none"]), str(tmp_path / "lt"),
                                       3, format="npz"), progress=False)
    assert saved["written"] == lite["written"] == 3
    names = sorted(n for n in os.listdir(tmp_path / "sm") if n.endswith(".npz"))
    assert names == sorted(n for n in os.listdir(tmp_path / "lt") if n.endswith(".npz"))
    for name in names:
        a, b = (np.load(tmp_path / d / name)["video"] for d in ("sm", "lt"))
        assert psnr(a, b) >= MIN_PSNR["none"]
    with open(tmp_path / "lt" / "manifest.json") as f:
        assert json.load(f)["model"]["format"] == "litert"
    again = synthesize(SynthesisRequest(os.path.join(exports["none"], litert.MODEL_FILE),
                                        str(tmp_path / "file"), 2, format="npz"),
                       progress=False)
    assert again["written"] == 2
    rerun = synthesize(SynthesisRequest(os.path.dirname(exports["none"]),
                                        str(tmp_path / "lt"), 3, format="npz"), progress=False)
    assert rerun["written"] == 0 and rerun["skipped"] == 3


def test_refusals_are_one_line(trained, tmp_path, monkeypatch):
    with pytest.raises(ExportError, match="unknown quantize 'int8'"):
        litert.export_litert(trained.workdir, str(tmp_path / "x"), quantize="int8")
    context = config_lib.from_dict(config_lib.load_experiment(
        os.path.join(REPO, "experiments", "animate.py"), "tiny"))
    workdir_lib.write_config(str(tmp_path / "animate"), context, "OneDeviceStrategy", 1)
    with pytest.raises(ExportError, match="context model .* SavedModel"):
        litert.export_litert(str(tmp_path / "animate"), str(tmp_path / "y"))
    with pytest.raises(ExportError, match="not a vidgan training run"):
        litert.export_litert(str(tmp_path / "nothing"), str(tmp_path / "z"))
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    with pytest.raises(ExportError, match=r"pip install vidgan\[litert\]"):
        litert.LiteRTModel(str(tmp_path / "z"))


def test_cli_exports_litert_and_refuses_mixed_flags_in_one_line(trained, tmp_path):
    out = str(tmp_path / "out")
    results = run_concurrently({
        "litert": vidgan_argv("export", f"--workdir={trained.workdir}", f"--export_dir={out}",
                              "--format=litert", "--quantize=float16"),
        "format": vidgan_argv("export", f"--workdir={trained.workdir}", f"--export_dir={out}x",
                              "--format=onnx"),
        "quantize": vidgan_argv("export", f"--workdir={trained.workdir}",
                                f"--export_dir={out}y", "--quantize=float16"),
        "precision": vidgan_argv("export", f"--workdir={trained.workdir}",
                                 f"--export_dir={out}z", "--format=litert",
                                 "--precision=bfloat16"),
    })
    assert results["litert"].returncode == 0, results["litert"].stderr[-2000:]
    assert os.path.isfile(os.path.join(out, "4", litert.MODEL_FILE))
    assert_one_line_error(results["format"], "export", "unknown format 'onnx'")
    assert_one_line_error(results["quantize"], "export", "--quantize applies to --format=litert")
    assert_one_line_error(results["precision"], "export", "--precision applies to SavedModels")


@pytest.mark.parametrize("family", ["motion", "vgan"])
def test_every_family_converts_and_matches_its_savedmodel(tiny_config, tmp_path, family):
    """The tiny run of each family exports to LiteRT and gives its SavedModel's videos
    (float32: within 50 dB PSNR), for a batch size other than the one the export checked.
    (dcgan3d: the trained fixture above; resnet3d: test_conditional.py, with labels.)"""
    from helpers import one_device, with_family  # noqa: PLC0415
    from vidgan import export as export_lib  # noqa: PLC0415
    from vidgan.training import Trainer  # noqa: PLC0415

    workdir = str(tmp_path / "run")
    Trainer(with_family(tiny_config, family), workdir, one_device()).train()
    model = litert.LiteRTModel(litert.export_litert(workdir, str(tmp_path / "lite")))
    saved = tf.saved_model.load(export_lib.export(workdir, str(tmp_path / "saved")))
    seeds = [0, 1, 2]
    expected = saved.signatures["generate"](seed=tf.constant(seeds, tf.int64))["video"]
    video = model.generate(seeds)["video"].numpy()
    assert min(psnr(v, e) for v, e in zip(video, expected.numpy())) >= MIN_PSNR["none"]


def test_enhancement_passes_bake_in_where_they_convert(trained, tmp_path):
    """denoise and sharpen convert (and match the SavedModel's chain); bicubic
    upsampling has no LiteRT builtin: refused in one line naming the op."""
    from vidgan import export as export_lib  # noqa: PLC0415

    chain = "denoise,sharpen"
    model = litert.LiteRTModel(litert.export_litert(trained.workdir, str(tmp_path / "lite"),
                                                    enhance=chain))
    saved = tf.saved_model.load(export_lib.export(trained.workdir, str(tmp_path / "saved"),
                                                  enhance=chain))
    expected = saved.signatures["generate"](seed=tf.constant(SEEDS, tf.int64))["video"]
    video = model.generate(SEEDS)["video"].numpy()
    assert min(psnr(v, e) for v, e in zip(video, expected.numpy())) >= MIN_PSNR["none"]
    assert model.metadata["enhance"] == chain
    with pytest.raises(ExportError, match="tf.ResizeBicubic has no LiteRT builtin"):
        litert.export_litert(trained.workdir, str(tmp_path / "x"), enhance="bicubic2x")
    assert not os.path.exists(tmp_path / "x" / "4")
