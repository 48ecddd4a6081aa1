"""Batch synthesis on Apache Beam (vidgan.synthesis_beam), on the DirectRunner: the same
files and manifest as `vidgan synthesize`, resumable, from a SavedModel or a LiteRT
export; one-line refusals."""

import json
import os
import sys

import numpy as np
import pytest

from helpers import assert_one_line_error, run_concurrently, vidgan_argv
from vidgan.data import video_io
from vidgan.synthesis import SynthesisError, SynthesisRequest, synthesize
from vidgan.synthesis_beam import synthesize_beam


def _manifest(out_dir):
    with open(os.path.join(out_dir, "manifest.json")) as f:
        return json.load(f)


@pytest.mark.parametrize("format", ["npz", "mp4"])
def test_direct_runner_writes_what_synthesize_writes(trained, tmp_path, format):
    """Same names; npz files byte for byte; mp4 files that decode to the same frames; the
    manifest lists the same videos and is complete; a re-run skips every file."""
    local = synthesize(SynthesisRequest(trained.export_dir, str(tmp_path / "local"), 7,
                                        batch_size=4, format=format), progress=False)
    beam = synthesize_beam(SynthesisRequest(trained.export_dir, str(tmp_path / "beam"), 7,
                                            batch_size=4, format=format))
    assert local["written"] == beam["written"] == 7
    names = sorted(n for n in os.listdir(tmp_path / "local") if n != "manifest.json")
    assert names == sorted(n for n in os.listdir(tmp_path / "beam") if n != "manifest.json")
    for name in names:
        a, b = (str(tmp_path / d / name) for d in ("local", "beam"))
        if format == "npz":
            with open(a, "rb") as fa, open(b, "rb") as fb:
                assert fa.read() == fb.read(), name
        else:
            np.testing.assert_array_equal(video_io.read_video(a, format),
                                          video_io.read_video(b, format), err_msg=name)
    manifests = [_manifest(tmp_path / d) for d in ("local", "beam")]
    assert manifests[1]["complete"] is True
    assert manifests[0]["videos"] == manifests[1]["videos"]
    assert manifests[0]["settings"] == manifests[1]["settings"]
    again = synthesize_beam(SynthesisRequest(trained.export_dir, str(tmp_path / "beam"), 9,
                                             batch_size=4, format=format))
    assert again["skipped"] == 7 and again["written"] == 2


def test_direct_runner_runs_a_litert_export(trained, tmp_path):
    from vidgan.export import litert  # noqa: PLC0415

    path = litert.export_litert(trained.workdir, str(tmp_path / "lite"))
    beam = synthesize_beam(SynthesisRequest(path, str(tmp_path / "beam"), 3, format="npz"))
    local = synthesize(SynthesisRequest(path, str(tmp_path / "local"), 3, format="npz"),
                       progress=False)
    assert beam["written"] == local["written"] == 3
    for name in ("seed_00000000.npz", "seed_00000002.npz"):
        np.testing.assert_array_equal(np.load(tmp_path / "beam" / name)["video"],
                                      np.load(tmp_path / "local" / name)["video"])


def test_refusals_are_one_line(trained, tmp_path, monkeypatch):
    request = SynthesisRequest(trained.export_dir, str(tmp_path / "out"), 2, format="npz")
    with pytest.raises(SynthesisError, match="unknown runner 'Direct'"):
        synthesize_beam(request, runner="Direct")
    with pytest.raises(SynthesisError, match="bad --beam_options"):
        synthesize_beam(request, beam_options="--direct_num_workers=two")
    monkeypatch.setitem(sys.modules, "apache_beam", None)
    with pytest.raises(SynthesisError, match=r"pip install vidgan\[beam\]"):
        synthesize_beam(request)


def test_cli_runner_writes_videos_and_refuses_options_without_runner(trained, tmp_path):
    out = str(tmp_path / "cli")
    results = run_concurrently({
        "beam": vidgan_argv("synthesize", f"--model_dir={trained.export_dir}",
                            f"--out_dir={out}", "--num_videos=2", "--format=npz",
                            "--runner=DirectRunner"),
        "options": vidgan_argv("synthesize", f"--model_dir={trained.export_dir}",
                               f"--out_dir={out}x", "--num_videos=2",
                               "--beam_options=--direct_num_workers=2"),
    })
    assert results["beam"].returncode == 0, results["beam"].stderr[-2000:]
    assert "wrote 2 videos" in results["beam"].stdout
    assert sorted(os.listdir(out)) == ["manifest.json", "seed_00000000.npz",
                                       "seed_00000001.npz"]
    assert_one_line_error(results["options"], "synthesize",
                          "--beam_options applies with --runner")
