"""Adversarial losses and penalties: pure functions on discriminator logits.

Shape contract: logits are `[B]` or patch-shaped `[B, ...]`; every function returns
a PER-EXAMPLE loss `[B]` (mean over the non-batch axes), so the trainer can average
over the GLOBAL batch with `tf.nn.compute_average_loss`. Discriminator losses
return `(total, real_part, fake_part)`, each `[B]`, so the parts can be logged.
All are written with softplus / relu so they stay finite for any finite logit.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import tensorflow as tf

from vidgan.rng import RowRandom


def per_example(x: tf.Tensor) -> tf.Tensor:
    """[B, ...] -> [B]: mean over every axis but the first."""
    x = tf.convert_to_tensor(x)
    if x.shape.rank == 1:
        return x
    return tf.reduce_mean(tf.reshape(x, [tf.shape(x)[0], -1]), axis=1)


class DiscriminatorLoss(NamedTuple):
    total: tf.Tensor  # [B]
    real: tf.Tensor  # [B]
    fake: tf.Tensor  # [B]


# --- Non-saturating (Goodfellow et al. 2014, sec. 3) --------------------------
def non_saturating_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """L_G = -log D(G(z)) = softplus(-l)."""
    return per_example(tf.nn.softplus(-fake_logits))


def non_saturating_discriminator_loss(real_logits, fake_logits) -> DiscriminatorLoss:
    """L_D = -log D(x) - log(1 - D(G(z))) = softplus(-l_real) + softplus(l_fake)."""
    real = per_example(tf.nn.softplus(-real_logits))
    fake = per_example(tf.nn.softplus(fake_logits))
    return DiscriminatorLoss(real + fake, real, fake)


# --- Minimax (Goodfellow et al. 2014, eq. 1) ----------------------------------
def minimax_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """L_G = log(1 - D(G(z))) = -softplus(l)."""
    return per_example(-tf.nn.softplus(fake_logits))


minimax_discriminator_loss = non_saturating_discriminator_loss


# --- Hinge (Lim & Ye 2017; Miyato et al. 2018) --------------------------------
def hinge_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """L_G = -D(G(z))."""
    return per_example(-fake_logits)


def hinge_discriminator_loss(real_logits, fake_logits) -> DiscriminatorLoss:
    """L_D = relu(1 - D(x)) + relu(1 + D(G(z)))."""
    real = per_example(tf.nn.relu(1.0 - real_logits))
    fake = per_example(tf.nn.relu(1.0 + fake_logits))
    return DiscriminatorLoss(real + fake, real, fake)


# --- Wasserstein (Arjovsky et al. 2017) ---------------------------------------
def wasserstein_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """L_G = -D(G(z))."""
    return per_example(-fake_logits)


def wasserstein_discriminator_loss(real_logits, fake_logits) -> DiscriminatorLoss:
    """L_D = D(G(z)) - D(x)."""
    real = per_example(-real_logits)
    fake = per_example(fake_logits)
    return DiscriminatorLoss(real + fake, real, fake)


# --- Least squares (Mao et al. 2017, eq. 2 with a=0, b=c=1) --------------------
def least_squares_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """L_G = 1/2 (D(G(z)) - 1)^2."""
    return per_example(0.5 * tf.square(fake_logits - 1.0))


def least_squares_discriminator_loss(real_logits, fake_logits) -> DiscriminatorLoss:
    """L_D = 1/2 (D(x) - 1)^2 + 1/2 D(G(z))^2."""
    real = per_example(0.5 * tf.square(real_logits - 1.0))
    fake = per_example(0.5 * tf.square(fake_logits))
    return DiscriminatorLoss(real + fake, real, fake)


# --- Relativistic pairing (Jolicoeur-Martineau 2019; RpGAN in Huang et al. 2024) ---
def relativistic_generator_loss(fake_logits, real_logits) -> tf.Tensor:
    """L_G = softplus(D(x_i) - D(G(z_i))): each fake clip judged against a real one."""
    return per_example(tf.nn.softplus(real_logits - fake_logits))


def relativistic_discriminator_loss(real_logits, fake_logits) -> DiscriminatorLoss:
    """L_D = softplus(D(G(z_i)) - D(x_i)), row i's real paired with row i's fake. There
    are no separate parts: `real` and `fake` carry half of the total each."""
    total = per_example(tf.nn.softplus(fake_logits - real_logits))
    return DiscriminatorLoss(total, 0.5 * total, 0.5 * total)


class Loss(NamedTuple):
    """generator(fake_logits) -> [B], or generator(fake_logits, real_logits) when
    `relative` (the G update then judges a real batch beside its fakes)."""

    generator: Callable[..., tf.Tensor]
    discriminator: Callable[[tf.Tensor, tf.Tensor], DiscriminatorLoss]
    relative: bool = False


LOSSES: dict[str, Loss] = {
    "non_saturating": Loss(non_saturating_generator_loss, non_saturating_discriminator_loss),
    "minimax": Loss(minimax_generator_loss, minimax_discriminator_loss),
    "hinge": Loss(hinge_generator_loss, hinge_discriminator_loss),
    "wasserstein": Loss(wasserstein_generator_loss, wasserstein_discriminator_loss),
    "least_squares": Loss(least_squares_generator_loss, least_squares_discriminator_loss),
    "relativistic": Loss(relativistic_generator_loss, relativistic_discriminator_loss,
                         relative=True),
}


def loss_name(config) -> str:
    """config.loss.name, with "auto" read as the default loss of the discriminator's family."""
    if config.loss.name != "auto":
        return config.loss.name
    from vidgan import models  # noqa: PLC0415

    return models.FAMILIES[models.discriminator_family(config.model)].default_loss


# --- Top-k training (Sinha et al. 2020) --------------------------------------
def top_k_share(step: tf.Tensor, share: float, anneal_steps: int) -> tf.Tensor:
    """The share of fakes kept at `step`: 1 at step 0, linearly down to `share` at
    `anneal_steps` (0: `share` from the start), then `share`."""
    if anneal_steps <= 0:
        return tf.constant(share, tf.float32)
    progress = tf.minimum(1.0, tf.cast(step, tf.float32) / anneal_steps)
    return 1.0 - (1.0 - share) * progress


def top_k_weights(scores: tf.Tensor, step: tf.Tensor, config) -> tf.Tensor:
    """Top-k training: per-clip weights [B_local] of the generator's adversarial loss
    that keep exactly the k = ceil(share * B) fakes D rates best (highest `scores`,
    [B_local]; ties go to the earlier row) of the GLOBAL batch of B clips, scaled by B / k
    so the loss stays a mean over the kept clips; share is top_k_share(step,
    config.top_k, config.top_k_steps) of a LossConfig `config`. The scores are gathered
    from every replica in row order, so a mirrored run keeps the clips one device keeps.
    G then learns from its most realistic samples, not from its worst ones (which early
    in training are all of them: hence the share annealed from 1)."""
    share = top_k_share(step, config.top_k, config.top_k_steps)
    scores = tf.stop_gradient(tf.cast(scores, tf.float32))
    ctx = tf.distribute.get_replica_context()
    everyone = ctx.all_gather(scores, axis=0)  # [B], replica 0's rows first
    total = tf.cast(tf.shape(everyone)[0], tf.float32)
    # float32 share * B can land a hair above an integer (0.6 * 25): not one clip more
    k = tf.maximum(1.0, tf.math.ceil(share * total - 1e-3))
    rank = tf.argsort(tf.argsort(-everyone, stable=True), stable=True)  # 0 = best
    rows = tf.shape(scores)[0]
    mine = rank[ctx.replica_id_in_sync_group * rows:][:rows]  # this replica's rows
    return tf.cast(tf.cast(mine, tf.float32) < k, tf.float32) * (total / k)


# --- Reconstruction (context models) ------------------------------------------
def reconstruction(fake: tf.Tensor, real: tf.Tensor, config) -> dict[str, tf.Tensor]:
    """A context model's L1 term beside its GAN loss (SAVP, Lee et al. 2018):
    {"reconstruction": loss.reconstruction * mean |fake - real| over frames k..T-1 (the
    generated ones; k = data.context_frames), [B]}, for fake and real [B, T, H, W, 3]
    whose first k frames are the same context; {} when off."""
    weight, k = config.loss.reconstruction, config.data.context_frames
    if not weight:
        return {}
    gap = tf.abs(tf.cast(fake[:, k:], tf.float32) - tf.cast(real[:, k:], tf.float32))
    return {"reconstruction": weight * tf.reduce_mean(gap, axis=[1, 2, 3, 4])}


# --- Penalties ----------------------------------------------------------------
def _input_gradient_norm_sq(discriminator: Callable, x: tf.Tensor) -> tf.Tensor:
    """||d sum(D(x_i)) / d x_i||^2 per example: [B, ...] -> [B]."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = discriminator(x)
        total = tf.reduce_sum(tf.cast(logits, tf.float32))
    grad = tape.gradient(total, x)
    grad = tf.reshape(tf.cast(grad, tf.float32), [tf.shape(x)[0], -1])
    return tf.reduce_sum(tf.square(grad), axis=1)


def wgan_gp_penalty(discriminator: Callable, real: tf.Tensor, fake: tf.Tensor,
                    epsilon: tf.Tensor) -> tf.Tensor:
    """(||grad D(x_hat)|| - 1)^2 at x_hat = eps x + (1 - eps) G(z) (Gulrajani et al. 2017).

    Args:
      real, fake: [B, T, H, W, C]. epsilon: [B] uniform in [0, 1].
    Returns: [B]. Multiply by the weight lambda (10 in the paper).
    """
    eps = tf.reshape(tf.cast(epsilon, real.dtype), [-1] + [1] * (real.shape.rank - 1))
    x_hat = eps * real + (1.0 - eps) * fake
    # sqrt has an infinite gradient at 0; the epsilon keeps the norm differentiable.
    norm = tf.sqrt(_input_gradient_norm_sq(discriminator, x_hat) + 1e-12)
    return tf.square(norm - 1.0)


def r1_penalty(discriminator: Callable, real: tf.Tensor) -> tf.Tensor:
    """1/2 ||grad D(x)||^2 on real data (Mescheder et al. 2018). [B, ...] -> [B].

    Multiply by gamma; the 1/2 is included so `gamma` matches the paper's R1.
    """
    return 0.5 * _input_gradient_norm_sq(discriminator, real)


def r1_r2_penalty(discriminator: Callable, real: tf.Tensor, fake: tf.Tensor) -> tf.Tensor:
    """R1 + R2: 1/2 ||grad D||^2 on real AND on fake clips (Roth et al. 2017; R3GAN,
    Huang et al. 2024: both keep a relativistic D near its equilibrium). [B] each."""
    return r1_penalty(discriminator, real) + r1_penalty(discriminator, tf.stop_gradient(fake))


def no_penalty(discriminator: Callable, real: tf.Tensor, fake: tf.Tensor,
               rng: RowRandom) -> tf.Tensor:
    return tf.zeros([tf.shape(real)[0]])


def lazy(penalty: Callable[[], tf.Tensor], step: tf.Tensor, every: int,
         rows: tf.Tensor) -> tf.Tensor:
    """Lazy regularization (StyleGAN2, Karras et al. 2020): `every` times the penalty [B]
    on every `every`-th step, zeros [rows] on the others (every = 1: the penalty itself)."""
    if every == 1:
        return penalty()
    return tf.cond(step % every == 0, lambda: float(every) * penalty(),
                   lambda: tf.zeros([rows]))


# A penalty: (discriminator: video [B, ...] -> logits [B], real, fake, rng) -> [B], the
# per-example penalty before its weight (loss.penalty_weight).
Penalty = Callable[[Callable, tf.Tensor, tf.Tensor, RowRandom], tf.Tensor]

PENALTIES: dict[str, Penalty] = {
    "none": no_penalty,
    "wgan_gp": lambda d, real, fake, rng: wgan_gp_penalty(d, real, fake, rng.uniform()),
    "r1": lambda d, real, fake, rng: r1_penalty(d, real),
    "r1_r2": lambda d, real, fake, rng: r1_r2_penalty(d, real, fake),
}
