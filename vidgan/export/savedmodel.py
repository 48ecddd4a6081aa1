"""SavedModel export: a trained generator as pure TensorFlow, loadable without vidgan.

The exported module (OUT/<version>/, as TF Serving expects) has:
  generate(seed int64 [N], truncation float32 [] = 1.0)
      -> {"video": uint8 [N, T, H, W, 3], "latents": float32 [N, z_dim]}
  generate_from_latents(latents float32 [N, z_dim]) -> {"video": uint8 [N, T, H, W, 3]}
  (z_dim: every noise input of the generator, flattened in its declared order: a
  motion-content model's content code, then its motion codes)
  generate_frames(seed int64 [N], num_frames int32 []) -> {"video": uint8 [N, num_frames,
  H, W, 3]}: families that render any length only (metadata "any_length"); the first T
  frames are generate's
  metadata() -> {"json": string}   (config, step, T/H/W, fps, z_dim, vidgan version)
Signatures: serving_default and generate (seed only, truncation 1), generate_truncated
(seed and truncation), generate_from_latents, metadata. A class-conditional model's
generate signatures also take `label` int32 [N] (class indices; metadata "class_names"
lists them in order). A context model (data.context_frames = k > 0) has instead
  extend(frames uint8 [N, m >= k, h, w, 3], seed int64 [N], num_frames int32 [])
      -> {"video": uint8 [N, num_frames, H, W, 3]}   (the frames after the given ones;
      extend_from_chunk also takes first_chunk int32 [], to extend piece by piece)
  animate(image uint8 [N, h, w, 3], seed int64 [N]) -> {"video": uint8 [N, T, H, W, 3]}
      (k = 1 only; frame 0 is the image resized to H x W)
and serving_default is animate (k = 1) or extend.

Latent i is `stateless_normal([z_dim], seed=[seed_i, 0]) * truncation` (the one rule of
vidgan.models.sampling, which training's fixed samples and evaluation use too): the same
seed gives the same video on every load, at every batch size, and in TensorBoard.
"""

from __future__ import annotations

import json

from absl import logging
import tensorflow as tf

from vidgan.export.common import ExportError, load, published, staging_folder
from vidgan.models import sampling
from vidgan.pixels import from_uint8, round_uint8, to_uint8


class GeneratorModule(tf.Module):
    """Wraps a Keras generator in tf.functions with fixed signatures.

    Inputs are declared with loose shapes and checked in the graph, so a bad shape fails
    with InvalidArgument naming the input (also under TF Serving).
    """

    def __init__(self, generator: tf.keras.Model, metadata: dict, enhancement=None):
        super().__init__(name="vidgan_generator")
        self.generator = generator
        self.enhancement = enhancement  # vidgan.enhance.Enhancement or None
        self.specs = generator.input_specs()
        data = {name for name, spec in self.specs.items() if spec.source == "data"}
        if "latent" not in self.specs or not data <= {"label", "context"}:
            raise ExportError(f"generator inputs {sorted(self.specs)}: this export takes "
                              "generators with a latent input (and a class label, context "
                              "frames)")
        # "latents" hold every noise input, flattened (a motion-content model's motion
        # codes beside its content code), so generate_from_latents reproduces generate.
        self.z_dim = sampling.latent_width(self.specs)
        self.num_classes = int(generator.num_classes)
        self.context_frames = int(getattr(generator, "context_frames", 0))
        if self.context_frames and enhancement is not None:
            raise ExportError("a context model's output feeds its next chunk at the model's "
                              "size: enhance its videos afterwards (vidgan extend --enhance)")
        self.num_frames, self.height, self.width = generator.video_shape[:3]
        self._metadata_json = json.dumps(metadata, sort_keys=True)

    @staticmethod
    def _seed(seed: tf.Tensor) -> tf.Tensor:
        """seed, checked to be int64 [N]."""
        with tf.control_dependencies([tf.debugging.assert_rank(
                seed, 1, message="seed must be a 1-D int64 tensor [N]")]):
            return tf.identity(seed)

    def _latents(self, seed: tf.Tensor, truncation: tf.Tensor) -> tf.Tensor:
        seed = self._seed(seed)
        with tf.control_dependencies([tf.debugging.assert_rank(
                truncation, 0, message="truncation must be a float32 scalar")]):
            truncation = tf.identity(truncation)
        with tf.control_dependencies([
                tf.debugging.assert_positive(truncation, message="truncation must be > 0")]):
            truncation = tf.reshape(truncation, [])  # static scalar shape

        noise = sampling.draw_noise(self.specs, sampling.seed_pairs_for_seeds(seed))
        return sampling.flatten_noise(self.specs, noise) * truncation  # [N, z_dim]

    def _labels(self, label: tf.Tensor, n: tf.Tensor) -> tf.Tensor:
        """label int32 [N], checked: one per video, each in [0, num_classes)."""
        k = self.num_classes
        message = f"label must be int32 [N] with one class in [0, {k}) per video"
        with tf.control_dependencies([tf.debugging.assert_rank(label, 1, message=message)]):
            label = tf.identity(label)
        with tf.control_dependencies([
                tf.debugging.assert_equal(tf.shape(label)[0], n, message=message),
                tf.debugging.assert_non_negative(label, message=message),
                tf.debugging.assert_less(label, k, message=message)]):
            return tf.reshape(label, [-1])

    def _video(self, latents: tf.Tensor, label: tf.Tensor | None = None) -> tf.Tensor:
        message = f"latents must be float32 [N, {self.z_dim}]"
        with tf.control_dependencies([tf.debugging.assert_rank(latents, 2, message=message)]):
            latents = tf.identity(latents)
        with tf.control_dependencies([
                tf.debugging.assert_equal(tf.shape(latents)[1], self.z_dim, message=message)]):
            latents = tf.debugging.assert_all_finite(latents, message="latents must be finite")
        latents = tf.reshape(latents, [-1, self.z_dim])  # static z_dim for the model
        inputs = sampling.unflatten_noise(self.specs, latents)
        if self.num_classes:
            inputs["label"] = self._labels(label, tf.shape(latents)[0])
        videos = self.generator(inputs, training=False)  # [N, T, H, W, 3] in [-1, 1]
        if self.enhancement is not None:
            videos = self.enhancement(videos)  # SR: [N, T, s*H, s*W, 3]
        return to_uint8(videos)

    @tf.function(autograph=False)
    def generate(self, seed, truncation=None, label=None):
        """seed int64 [N], optional truncation float32 [] (default 1: none), label int32
        [N] (class-conditional models) -> {"video": uint8 [N, T, H, W, 3], "latents":
        float32 [N, z_dim]}."""
        if truncation is None:
            truncation = tf.constant(1.0)
        latents = self._latents(seed, truncation)
        return {"video": self._video(latents, label), "latents": latents}

    @tf.function(autograph=False)
    def generate_from_latents(self, latents, label=None):
        return {"video": self._video(latents, label)}

    @tf.function(autograph=False)
    def generate_frames(self, seed, num_frames, label=None):
        """Any-length families: seed int64 [N], num_frames int32 [] >= 1 (, label int32
        [N]) -> {"video": uint8 [N, num_frames, H, W, 3]}, whose first T frames are
        generate's for the same seeds (the seed's codes for more frames extend its codes
        for T)."""
        seed, message = self._seed(seed), "num_frames must be an int32 scalar >= 1"
        with tf.control_dependencies([tf.debugging.assert_rank(num_frames, 0,
                                                               message=message)]):
            num_frames = tf.identity(num_frames)
        with tf.control_dependencies([tf.debugging.assert_positive(num_frames,
                                                                   message=message)]):
            num_frames = tf.reshape(tf.cast(num_frames, tf.int32), [])
        inputs = sampling.draw_noise(self.specs, sampling.seed_pairs_for_seeds(seed),
                                     self.generator.noise_shapes(num_frames))
        if self.num_classes:
            inputs["label"] = self._labels(label, tf.shape(seed)[0])
        videos = self.generator.render(inputs, num_frames, training=False)
        if self.enhancement is not None:
            videos = self.enhancement(videos)
        return {"video": to_uint8(videos)}

    # --- context models (data.context_frames = k > 0) ------------------------------
    def _frames(self, frames: tf.Tensor, name: str) -> tf.Tensor:
        """uint8 [N, m, h, w, 3] with m >= k -> its last k frames at the model's size,
        uint8 [N, k, H, W, 3] (resized with antialiasing when h, w differ)."""
        k = self.context_frames
        message = f"{name} must be uint8 [N, m >= {k}, height, width, 3]"
        with tf.control_dependencies([tf.debugging.assert_rank(frames, 5, message=message)]):
            frames = tf.identity(frames)
        shape = tf.shape(frames)
        with tf.control_dependencies([
                tf.debugging.assert_equal(shape[4], 3, message=message),
                tf.debugging.assert_greater_equal(shape[1], k, message=message),
                tf.debugging.assert_positive(shape[2] * shape[3], message=message)]):
            frames = frames[:, shape[1] - k:]
        n, h, w = shape[0], shape[2], shape[3]
        flat = tf.reshape(frames, [n * k, h, w, 3])

        def resize():
            out = tf.image.resize(tf.cast(flat, tf.float32), [self.height, self.width],
                                  method="bilinear", antialias=True)
            return round_uint8(out)

        same = tf.logical_and(tf.equal(h, self.height), tf.equal(w, self.width))
        flat = tf.cond(same, lambda: tf.reshape(flat, [-1, self.height, self.width, 3]),
                       resize)
        return tf.reshape(flat, [-1, k, self.height, self.width, 3])

    def _next_chunk(self, window: tf.Tensor, seed: tf.Tensor, chunk: tf.Tensor,
                    label: tf.Tensor | None) -> tf.Tensor:
        """The T - k frames that follow `window` (uint8 [N, k, H, W, 3]): uint8."""
        noise = sampling.draw_noise(self.specs, sampling.seed_pairs_for_chunk(seed, chunk))
        inputs = {**noise, "context": from_uint8(window)}
        if self.num_classes:
            inputs["label"] = label
        video = self.generator(inputs, training=False)  # [N, T, H, W, 3]
        return to_uint8(video[:, self.context_frames:])

    def _seeds_for(self, seed: tf.Tensor, n: tf.Tensor) -> tf.Tensor:
        message = "seed must be int64 [N], one per video"
        with tf.control_dependencies([
                tf.debugging.assert_rank(seed, 1, message=message),
                tf.debugging.assert_equal(tf.shape(seed)[0], n, message=message)]):
            return tf.reshape(seed, [-1])

    @tf.function(autograph=False)
    def animate(self, image, seed, label=None):
        """image uint8 [N, h, w, 3], seed int64 [N] (label int32 [N]) -> {"video": uint8
        [N, T, H, W, 3]}: frame 0 is the image (resized to H x W), the rest generated."""
        with tf.control_dependencies([tf.debugging.assert_rank(
                image, 4, message="image must be uint8 [N, height, width, 3]")]):
            image = tf.identity(image)
        window = self._frames(image[:, None], "image")  # [N, 1, H, W, 3]
        n = tf.shape(window)[0]
        seed = self._seeds_for(seed, n)
        label = self._labels(label, n) if self.num_classes else None
        rest = self._next_chunk(window, seed, tf.constant(0, tf.int64), label)
        return {"video": tf.concat([window, rest], axis=1)}

    @tf.function(autograph=False)
    def extend(self, frames, seed, num_frames, label=None, first_chunk=None):
        """frames uint8 [N, m >= k, h, w, 3] (the video so far; its last k frames are the
        context), seed int64 [N], num_frames int32 [] > 0 (label int32 [N]) -> {"video":
        uint8 [N, num_frames, H, W, 3]}: the frames that FOLLOW the given ones, made chunk
        by chunk (T - k frames each), every chunk conditioned on the last k frames so far.
        `first_chunk` (int32 [], default 0) numbers the first chunk's noise, so a caller
        extending piece by piece (first_chunk = 0, 1, ...) gets the one-call result."""
        k, t = self.context_frames, self.num_frames
        first = tf.constant(0) if first_chunk is None else tf.reshape(first_chunk, [])
        window = self._frames(frames, "frames")  # [N, k, H, W, 3]
        n = tf.shape(window)[0]
        seed = self._seeds_for(seed, n)
        label = self._labels(label, n) if self.num_classes else None
        message = "num_frames must be a positive int32 scalar"
        with tf.control_dependencies([
                tf.debugging.assert_rank(num_frames, 0, message=message),
                tf.debugging.assert_positive(num_frames, message=message)]):
            num_frames = tf.reshape(tf.cast(num_frames, tf.int32), [])
        chunks = (num_frames + (t - k) - 1) // (t - k)
        out = tf.TensorArray(tf.uint8, size=chunks,
                             element_shape=[None, t - k, self.height, self.width, 3])

        def body(c, window, out):
            new = self._next_chunk(window, seed, tf.cast(first + c, tf.int64), label)
            window = tf.concat([window, new], axis=1)[:, -k:]
            return c + 1, window, out.write(c, new)

        _, _, out = tf.while_loop(lambda c, *_: c < chunks, body, (0, window, out))
        video = tf.transpose(out.stack(), [1, 0, 2, 3, 4, 5])  # [N, chunks, T-k, H, W, 3]
        video = tf.reshape(video, [n, chunks * (t - k), self.height, self.width, 3])
        return {"video": video[:, :num_frames]}

    @tf.function(input_signature=[], autograph=False)
    def metadata(self):
        return {"json": tf.constant(self._metadata_json)}


def export(workdir: str, export_dir: str, step: int | None = None, ema: bool = True,
           version: int | None = None, overwrite: bool = False, enhance: str = "",
           sr_workdir: str | None = None, precision: str = "float32") -> str:
    """Exports a run's generator to export_dir/<version>/ (version defaults to the step).

    `enhance`: a chain spec (vidgan.enhance, e.g. "denoise,sharpen,sr2x") baked into every
    signature after the generator; learned SR loads its network from `sr_workdir`.
    `precision`: how the generator's weights are stored (models.in_precision); the
    signatures, the seed rule and the enhancement passes are the same.
    Written to a temporary folder first and renamed. Returns the version folder.
    """
    loaded = load(workdir, step, ema, enhance, sr_workdir, precision)
    generator, trained_step = loaded.generator, loaded.step
    target, staging = staging_folder(export_dir, trained_step if version is None else version,
                                     overwrite)
    with published(staging, target):  # staging is removed if anything below fails
        module = GeneratorModule(generator, loaded.metadata, loaded.enhancement)
        seed = tf.TensorSpec(None, tf.int64, name="seed")
        truncation = tf.TensorSpec(None, tf.float32, name="truncation")
        latents = tf.TensorSpec(None, tf.float32, name="latents")
        label = ({"label": tf.TensorSpec(None, tf.int32, name="label")}
                 if module.num_classes else {})
        signatures = {"metadata": module.metadata}
        if module.context_frames:
            signatures["extend"] = module.extend.get_concrete_function(
                tf.TensorSpec(None, tf.uint8, name="frames"), seed,
                tf.TensorSpec(None, tf.int32, name="num_frames"), **label)
            signatures["extend_from_chunk"] = module.extend.get_concrete_function(
                tf.TensorSpec(None, tf.uint8, name="frames"), seed,
                tf.TensorSpec(None, tf.int32, name="num_frames"), **label,
                first_chunk=tf.TensorSpec(None, tf.int32, name="first_chunk"))
            signatures["serving_default"] = signatures["extend"]
            if module.context_frames == 1:
                signatures["animate"] = module.animate.get_concrete_function(
                    tf.TensorSpec(None, tf.uint8, name="image"), seed, **label)
                signatures["serving_default"] = signatures["animate"]
        else:
            by_seed = module.generate.get_concrete_function(seed, **label)
            signatures.update({
                "serving_default": by_seed,
                "generate": by_seed,
                "generate_truncated": module.generate.get_concrete_function(seed, truncation,
                                                                            **label),
                "generate_from_latents": module.generate_from_latents.get_concrete_function(
                    latents, **label),
            })
            if generator.any_length:
                signatures["generate_frames"] = module.generate_frames.get_concrete_function(
                    seed, tf.TensorSpec(None, tf.int32, name="num_frames"), **label)
        tf.saved_model.save(module, staging, signatures=signatures)
    logging.info("Exported %s generator of step %d to %s", "EMA" if ema else "raw",
                 trained_step, target)
    return target
