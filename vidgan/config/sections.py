"""The sections of the config tree (data, loss, train, sr; the model families' sections live
with their classes, vidgan.models) and each section's own rules, next to it. Rules that
span sections are vidgan.config.validate."""

from __future__ import annotations

import dataclasses
import math

from vidgan.config.tree import choice, require


MAX_SIDE = 4096  # data.height, data.width
MAX_FRAMES = 1024  # data.num_frames


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """What the trainer sees: clips of `num_frames` x `height` x `width` x 3."""

    # "bouncing_shapes" | "moving_digits" (built in), "video_files" | "frame_folders"
    # (decoded with OpenCV), "tfrecord" (shards written by `vidgan prepare`).
    source: str = "bouncing_shapes"
    num_frames: int = 16
    height: int = 64
    width: int = 64
    fps: int = 8  # playback rate of samples (GIFs) and exported videos
    num_objects: int = 2  # shapes or digits per clip
    object_size: float = 0.25  # object extent as a fraction of min(height, width)
    max_speed: float = 0.08  # pixels per frame as a fraction of the frame size
    seed: int = 0  # clip i (synthetic) / element i (real) is a pure function of (seed, i)
    # --- real videos (video_files, frame_folders, tfrecord) ---
    path: str = ""  # a folder (searched recursively) or a glob; for tfrecord, of shards
    # Class-conditional models: each clip's class (real videos: the parent folder's name,
    # UCF-101 style; moving_digits: the digit; bouncing_shapes: the shape kind).
    labels: bool = False
    # The classes, in label order. Filled from the data when training starts (and stored in
    # the run's config.json, so export and evaluation need no data); if set, must match.
    class_names: tuple[str, ...] = ()
    # k > 0: the generator is given each clip's first k frames ("context", taken from the
    # real clip) and generates the rest; its output starts with those k frames exactly.
    # 1: a still image brought to life (experiments/animate.py); > 1: continuing a video
    # (experiments/extend.py, autoregressively to any length).
    context_frames: int = 0
    frame_stride: int = 1  # take every k-th frame
    target_fps: float = 0.0  # > 0: per-video stride = round(video fps / target_fps) instead
    clip_offsets: str = "random"  # "random" | "uniform" (evenly spaced) | "all" (every clip)
    clips_per_video: int = 1  # clips per visit of a video (random and uniform offsets)
    resize: str = "center_crop"  # shorter side to size then "center_crop" | "random_crop";
    #                               or "stretch" (plain resize to height x width)
    flip: bool = False  # random horizontal flips
    split: str = "train"  # "train" | "test" | "all"; split BY VIDEO, fixed by seed and path
    test_fraction: float = 0.1
    max_resolution: int = 4096  # videos with a longer side above this are skipped
    decode_parallelism: int = 0  # videos decoded at once, one FFmpeg thread each;
    #                               0 = 3 per CPU core (at most 16)


def validate_data(d: DataConfig) -> None:
    from vidgan.data import registry  # noqa: PLC0415  (names only: no TF import)

    choice(d.source, "data.source", registry.SOURCES)
    if registry.SOURCES[d.source].reads_files:
        require(bool(d.path), f"data.path is required for data.source={d.source}")
    require(d.frame_stride >= 1, "data.frame_stride must be >= 1")
    require(0 <= d.target_fps < math.inf, "data.target_fps must be >= 0 (0: use frame_stride)")
    choice(d.clip_offsets, "data.clip_offsets", ("random", "uniform", "all"))
    require(d.clips_per_video >= 1, "data.clips_per_video must be >= 1")
    choice(d.resize, "data.resize", ("center_crop", "random_crop", "stretch"))
    choice(d.split, "data.split", ("train", "test", "all"))
    require(0 <= d.test_fraction < 1, "data.test_fraction must be in [0, 1)")
    require(d.max_resolution >= 16, "data.max_resolution must be >= 16")
    require(d.decode_parallelism >= 0,
            "data.decode_parallelism must be >= 0 (0 = 3 per CPU core)")
    for name in ("num_frames", "height", "width", "fps", "num_objects"):
        require(getattr(d, name) >= 1, f"data.{name} must be >= 1")
    require(min(d.height, d.width) >= 8, "data.height and data.width must be >= 8")
    # Past these, tensor sizes overflow int32 long before memory runs out.
    require(max(d.height, d.width) <= MAX_SIDE,
            f"data.height and data.width must be <= {MAX_SIDE}")
    require(d.num_frames <= MAX_FRAMES, f"data.num_frames must be <= {MAX_FRAMES}")
    require(0 < d.object_size < 1, "data.object_size must be in (0, 1)")
    require(0 <= d.max_speed <= 1, "data.max_speed must be in [0, 1]")
    require(d.labels or not d.class_names, "data.class_names is set but data.labels=false")
    require(len(set(d.class_names)) == len(d.class_names) and all(d.class_names),
            f"data.class_names must be distinct non-empty names, got {list(d.class_names)}")
    require(0 <= d.context_frames < d.num_frames,
            f"data.context_frames must be in [0, data.num_frames={d.num_frames}), got "
            f"{d.context_frames}")
    require(0 <= d.seed < 2**32, "data.seed must be in [0, 2**32)")


@dataclasses.dataclass(frozen=True)
class LossConfig:
    # a name in vidgan.losses.LOSSES, or "auto": the discriminator family's default (hinge
    # for resnet3d, motion, vgan; non_saturating for dcgan3d; vidgan.losses.loss_name)
    name: str = "auto"
    # a name in vidgan.losses.PENALTIES: "none" | "wgan_gp" | "r1" | "r1_r2"
    penalty: str = "none"
    # lambda of WGAN-GP, or gamma of R1 (loss = gamma/2 ||grad||^2; R1 + R2 alike)
    penalty_weight: float = 10.0
    # Lazy regularization (StyleGAN2, Karras et al. 2020): the penalty only on every N-th
    # step, weighted N times, so it costs 1/N of its double backward pass
    penalty_every: int = 1
    # Top-k training (Sinha et al. 2020): the generator's adversarial loss counts only
    # the share of each global batch's fakes that D rates best (by their fake logits,
    # also under a relativistic loss), annealed linearly from all of them over the first
    # top_k_steps steps (1.0: every fake, no extra ops)
    top_k: float = 1.0
    top_k_steps: int = 0
    # Context models (data.context_frames > 0): G's loss also counts this weight times the
    # mean |fake - real| over the frames after the context (SAVP's L1 beside the GAN
    # loss, Lee et al. 2018); 0: off. It pulls the futures towards the mean: blurrier.
    reconstruction: float = 0.0


def validate_loss(l: LossConfig) -> None:
    from vidgan import losses  # noqa: PLC0415

    choice(l.name, "loss.name", ("auto", *losses.LOSSES))
    choice(l.penalty, "loss.penalty", losses.PENALTIES)
    require(0 <= l.penalty_weight < math.inf, "loss.penalty_weight must be finite and >= 0")
    require(l.penalty_every >= 1, "loss.penalty_every must be >= 1")
    require(0 < l.top_k <= 1, "loss.top_k is a share of the batch: it must be in (0, 1]")
    require(l.top_k_steps >= 0, "loss.top_k_steps must be >= 0")
    require(0 <= l.reconstruction < math.inf, "loss.reconstruction must be finite and >= 0")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    steps: int = 10_000  # generator updates
    batch_size: int = 16  # GLOBAL batch, split across replicas
    n_critic: int = 1  # discriminator updates per generator update
    # The last D update judges the fakes the G update then learns from (one G forward a
    # step instead of n_critic + 1; PyTorch's DCGAN loop); false: fresh fakes for each
    reuse_fakes: bool = False
    g_lr: float = 2e-4
    d_lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    # Both learning rates stay constant for the first lr_decay_from * steps updates, then
    # fall linearly to 0 at train.steps (1.0: no decay). A function of the optimizer's
    # update count, so a resumed run continues the same schedule.
    lr_decay_from: float = 1.0
    ema_decay: float = 0.999  # EMA of generator weights, warmed up over the first steps
    seed: int = 0  # latents and penalty noise are a pure function of (seed, step)
    # DiffAugment of every video D sees (real and fake, D and G updates): a comma-separated
    # list of vidgan.augment.AUGMENTATIONS, e.g. "color,translation,cutout"; "" = off
    augment: str = ""
    # "auto" | "one_device" | "mirrored" | "multi_worker" (MultiWorkerMirroredStrategy from
    # TF_CONFIG or Slurm) | "tpu" (TPUStrategy); vidgan.training.strategy
    strategy: str = "auto"
    cpu_devices: int = 1  # logical CPU devices to mirror over when there is no GPU
    # "float32" | "mixed_bfloat16" (CPU with AVX512_BF16, TPU, Ampere+) | "mixed_float16"
    # (GPU; with dynamic loss scaling) | "auto" (mixed_bfloat16 where it runs natively,
    # else float32; vidgan.runtime.fast_bfloat16). Mixed: layers compute in 16 bits;
    # variables, losses, D logits, the generator's output and the EMA stay float32.
    precision: str = "float32"
    # > 0: stop after this many minutes of wall time (start-up included), checkpointing
    # and sampling at the last step; train.steps still bounds the run
    time_budget_minutes: float = 0.0
    log_every: int = 10
    sample_every: int = 200
    checkpoint_every: int = 200
    keep_checkpoints: int = 3
    num_samples: int = 8  # fixed latents sampled from the EMA generator
    fvd_every: int = 0  # > 0: FVD/KVD of the EMA generator every N steps (needs fetch-i3d)
    fvd_clips: int = 256  # real and generated clips per FVD (tags metrics/fvd<clips>)


def validate_train(t: TrainConfig) -> None:
    from vidgan import augment  # noqa: PLC0415
    from vidgan.config.tree import ConfigError  # noqa: PLC0415

    try:
        augment.parse(t.augment)
    except ValueError as e:
        raise ConfigError(f"train.augment: {e}") from None
    for name in ("steps", "batch_size", "n_critic", "log_every", "sample_every",
                 "checkpoint_every", "keep_checkpoints", "num_samples", "cpu_devices"):
        require(getattr(t, name) >= 1, f"train.{name} must be >= 1")
    require(0 < t.g_lr < math.inf and 0 < t.d_lr < math.inf,
            "train.g_lr and train.d_lr must be finite and > 0")
    require(0 <= t.beta1 < 1 and 0 <= t.beta2 < 1, "train.beta1 and train.beta2 must be in [0, 1)")
    require(0 <= t.lr_decay_from <= 1, "train.lr_decay_from must be in [0, 1] (1: no decay)")
    require(0 <= t.ema_decay < 1, "train.ema_decay must be in [0, 1)")
    require(0 <= t.seed < 2**32, "train.seed must be in [0, 2**32)")
    choice(t.strategy, "train.strategy",
           ("auto", "one_device", "mirrored", "multi_worker", "tpu"))
    choice(t.precision, "train.precision",
           ("float32", "mixed_bfloat16", "mixed_float16", "auto"))
    require(0 <= t.time_budget_minutes < math.inf,
            "train.time_budget_minutes must be >= 0 (0: no budget)")
    require(t.fvd_every >= 0, "train.fvd_every must be >= 0 (0: no FVD during training)")
    require(t.fvd_clips >= 2, "train.fvd_clips must be >= 2")
    require(t.batch_size % t.cpu_devices == 0
            or t.strategy in ("one_device", "multi_worker", "tpu"),
            f"train.batch_size={t.batch_size} must divide evenly over "
            f"train.cpu_devices={t.cpu_devices}")


@dataclasses.dataclass(frozen=True)
class SRConfig:
    """The learned super-resolution network and how `vidgan train-sr` degrades its inputs.

    Training pairs: a real clip at data.height x data.width is the target; its input is
    the clip blurred (Gaussian, sigma drawn from [0, blur] HR pixels), downscaled by
    `scale` (area), given noise (std drawn from [0, noise], [0, 1] units) and quantized
    to 8 bits.
    """

    scale: int = 2  # 2 | 4
    channels: int = 64  # width of the first layer; the next two have half
    frames: int = 1  # luma frames in: 1 (the frame) or 3 (with its two neighbours; measured
    #                   no better on held-out clips, BUILD.md)
    blur: float = 0.0
    noise: float = 0.0
    lr: float = 1e-3  # Adam, decayed by a cosine to 0 over train.steps


def validate_sr(sr: SRConfig, data: DataConfig) -> None:
    """Checked by `vidgan train-sr` (vidgan.enhance.sr), not by every GAN config."""
    require(sr.scale in (2, 4), "sr.scale must be 2 or 4")
    require(sr.frames in (1, 3), "sr.frames must be 1 or 3")
    require(sr.channels >= 2, "sr.channels must be >= 2")
    require(sr.blur >= 0 and 0 <= sr.noise < 1, "sr.blur must be >= 0 and sr.noise in [0, 1)")
    require(0 < sr.lr < math.inf, "sr.lr must be finite and > 0")
    require(data.height % sr.scale == 0 and data.width % sr.scale == 0,
            f"data.height and data.width must be multiples of sr.scale={sr.scale}")
