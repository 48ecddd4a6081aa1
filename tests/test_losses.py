"""Golden-value tests for vidgan.losses, in the style of TF-GAN's loss tests.

Every expected value below is computed independently with numpy from the textbook
formula in the corresponding docstring (or written out by hand where the formula
is piecewise linear / quadratic), never copied from running the library.
"""

import numpy as np
import pytest
import tensorflow as tf

from helpers import mirrored, one_device
from vidgan import losses
from vidgan.config.sections import LossConfig

# Shared fixed logits (as in TF-GAN's tests): a mix of signs and magnitudes.
REAL = np.array([-2.0, -0.5, 0.0, 1.5], np.float32)
FAKE = np.array([1.0, -1.0, 3.0, 0.0], np.float32)


def softplus(x):
    """softplus(x) = log(1 + exp(x)), in float64."""
    return np.log1p(np.exp(np.asarray(x, np.float64)))


def relu(x):
    return np.maximum(np.asarray(x, np.float64), 0.0)


def _expected(name, real, fake):
    """(generator, d_real, d_fake) per element, from each docstring's formula."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    if name == "non_saturating":
        return softplus(-fake), softplus(-real), softplus(fake)
    if name == "minimax":
        return -softplus(fake), softplus(-real), softplus(fake)
    if name == "hinge":
        return -fake, relu(1.0 - real), relu(1.0 + fake)
    if name == "wasserstein":
        return -fake, -real, fake
    if name == "least_squares":
        return 0.5 * (fake - 1.0) ** 2, 0.5 * (real - 1.0) ** 2, 0.5 * fake**2
    raise KeyError(name)


# The same numbers written out by hand for REAL / FAKE, for the losses whose
# formulas are piecewise linear or quadratic (a second, formula-free check).
HAND = {
    # G = -f;  D_real = relu(1 - r);  D_fake = relu(1 + f)
    "hinge": ([-1.0, 1.0, -3.0, 0.0], [3.0, 1.5, 1.0, 0.0], [2.0, 0.0, 4.0, 1.0]),
    # G = -f;  D_real = -r;  D_fake = f
    "wasserstein": ([-1.0, 1.0, -3.0, 0.0], [2.0, 0.5, 0.0, -1.5], [1.0, -1.0, 3.0, 0.0]),
    # G = (f-1)^2/2;  D_real = (r-1)^2/2;  D_fake = f^2/2
    "least_squares": ([0.0, 2.0, 2.0, 0.5], [4.5, 1.125, 0.5, 0.125], [0.5, 0.5, 4.5, 0.0]),
}

LOSS_NAMES = ["non_saturating", "minimax", "hinge", "wasserstein", "least_squares"]


def test_registry_lists_exactly_the_documented_losses():
    """LOSSES holds the five documented losses of fake logits alone, each a (generator,
    discriminator) pair, and the relativistic one, whose G loss also takes real logits."""
    assert sorted(losses.LOSSES) == sorted(LOSS_NAMES + ["relativistic"])
    for name, loss in losses.LOSSES.items():
        assert callable(loss.generator) and callable(loss.discriminator)
        assert loss.relative == (name == "relativistic")
    assert sorted(losses.PENALTIES) == ["none", "r1", "r1_r2", "wgan_gp"]


def test_relativistic_golden_values():
    """G = softplus(r - f), D = softplus(f - r) per row (row i's real against row i's
    fake), logged as two halves."""
    loss = losses.LOSSES["relativistic"]
    g = loss.generator(tf.constant(FAKE), tf.constant(REAL))
    d = loss.discriminator(tf.constant(REAL), tf.constant(FAKE))
    np.testing.assert_allclose(g.numpy(), softplus(REAL - FAKE), rtol=1e-6)
    np.testing.assert_allclose(d.total.numpy(), softplus(FAKE - REAL), rtol=1e-6)
    np.testing.assert_allclose(d.real.numpy(), 0.5 * softplus(FAKE - REAL), rtol=1e-6)
    np.testing.assert_allclose((d.real + d.fake).numpy(), d.total.numpy(), rtol=1e-6)
    # Hand values: r - f = [-3, 0.5, -3, 1.5] -> softplus(0.5) = 0.974077, softplus(-3) =
    # 0.048587, softplus(1.5) = 1.701413.
    np.testing.assert_allclose(g.numpy(), [0.048587, 0.974077, 0.048587, 1.701413],
                               rtol=1e-5)


def test_relativistic_losses_depend_on_the_difference_alone():
    """Adding the same constant to every logit changes nothing (only D(fake) - D(real)
    counts); G gains by raising its fake logit, D by raising the real one; extreme
    logits stay finite."""
    loss = losses.LOSSES["relativistic"]
    for shift in (5.0, -40.0):
        np.testing.assert_allclose(
            loss.generator(tf.constant(FAKE + shift), tf.constant(REAL + shift)).numpy(),
            loss.generator(tf.constant(FAKE), tf.constant(REAL)).numpy(), rtol=1e-5)
    real, fake = tf.Variable(REAL), tf.Variable(FAKE)
    with tf.GradientTape(persistent=True) as tape:
        g = tf.reduce_sum(loss.generator(fake, real))
        d = tf.reduce_sum(loss.discriminator(real, fake).total)
    assert np.all(tape.gradient(g, fake).numpy() < 0)
    assert np.all(tape.gradient(d, real).numpy() < 0)
    assert np.all(tape.gradient(d, fake).numpy() > 0)
    big = tf.constant([1e4, -1e4])
    assert np.all(np.isfinite(loss.generator(big, -big).numpy()))
    np.testing.assert_allclose(loss.discriminator(big, -big).total.numpy(), [0.0, 2e4],
                               atol=1e-3)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_golden_values(name):
    """Per-example G loss and D (total, real, fake) match the hand formula (rtol 1e-6)."""
    loss = losses.LOSSES[name]
    g_exp, real_exp, fake_exp = _expected(name, REAL, FAKE)
    g = loss.generator(tf.constant(FAKE))
    d = loss.discriminator(tf.constant(REAL), tf.constant(FAKE))
    np.testing.assert_allclose(g.numpy(), g_exp, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(d.real.numpy(), real_exp, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(d.fake.numpy(), fake_exp, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(d.total.numpy(), real_exp + fake_exp, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(HAND))
def test_hand_written_values(name):
    """The piecewise-linear/quadratic losses equal numbers worked out on paper."""
    loss = losses.LOSSES[name]
    g_hand, real_hand, fake_hand = (np.array(v) for v in HAND[name])
    d = loss.discriminator(tf.constant(REAL), tf.constant(FAKE))
    np.testing.assert_allclose(loss.generator(tf.constant(FAKE)).numpy(), g_hand, rtol=1e-6)
    np.testing.assert_allclose(d.real.numpy(), real_hand, rtol=1e-6)
    np.testing.assert_allclose(d.fake.numpy(), fake_hand, rtol=1e-6)


def test_softplus_spot_values():
    """Spot-check the softplus-based losses at hand-known points: softplus(0) = log 2."""
    zero = tf.zeros([1])
    np.testing.assert_allclose(losses.non_saturating_generator_loss(zero).numpy(), [np.log(2)],
                               rtol=1e-6)
    np.testing.assert_allclose(losses.minimax_generator_loss(zero).numpy(), [-np.log(2)],
                               rtol=1e-6)
    d = losses.non_saturating_discriminator_loss(zero, zero)
    np.testing.assert_allclose(d.total.numpy(), [2 * np.log(2)], rtol=1e-6)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_shapes_dtypes_and_total_is_sum(name):
    """Outputs are [B] float32, and total == real + fake exactly (elementwise)."""
    loss = losses.LOSSES[name]
    g = loss.generator(tf.constant(FAKE))
    d = loss.discriminator(tf.constant(REAL), tf.constant(FAKE))
    assert isinstance(d, losses.DiscriminatorLoss)
    for t in (g, d.total, d.real, d.fake):
        assert t.shape == (4,)
        assert t.dtype == tf.float32
    np.testing.assert_allclose(d.total.numpy(), (d.real + d.fake).numpy(), rtol=0, atol=0)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_patch_logits_are_averaged_per_example(name):
    """Patch logits [B, 2, 3] give the per-example mean over the non-batch axes."""
    rng = np.random.default_rng(0)
    real = rng.normal(0, 2, size=(4, 2, 3)).astype(np.float32)
    fake = rng.normal(0, 2, size=(4, 2, 3)).astype(np.float32)
    g_exp, real_exp, fake_exp = (e.mean(axis=(1, 2)) for e in _expected(name, real, fake))
    loss = losses.LOSSES[name]
    g = loss.generator(tf.constant(fake))
    d = loss.discriminator(tf.constant(real), tf.constant(fake))
    assert g.shape == d.total.shape == d.real.shape == d.fake.shape == (4,)
    np.testing.assert_allclose(g.numpy(), g_exp, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d.real.numpy(), real_exp, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d.fake.numpy(), fake_exp, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d.total.numpy(), real_exp + fake_exp, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_tiled_patch_logits_equal_flat_logits(name):
    """Tiling each example's logit to [B, 2, 3] patches leaves the loss unchanged."""
    loss = losses.LOSSES[name]
    tile = lambda x: tf.tile(tf.constant(x)[:, None, None], [1, 2, 3])  # noqa: E731
    g_flat = loss.generator(tf.constant(FAKE))
    g_tiled = loss.generator(tile(FAKE))
    d_flat = loss.discriminator(tf.constant(REAL), tf.constant(FAKE))
    d_tiled = loss.discriminator(tile(REAL), tile(FAKE))
    np.testing.assert_allclose(g_tiled.numpy(), g_flat.numpy(), rtol=1e-6)
    for a, b in zip(d_tiled, d_flat):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", LOSS_NAMES)
@pytest.mark.parametrize("scale", [100.0, 1e4])
def test_extreme_logits_give_finite_values_and_gradients(name, scale):
    """Logits of +-100 and +-1e4 give finite losses and finite gradients (no exp overflow)."""
    loss = losses.LOSSES[name]
    real = tf.Variable([scale, -scale, scale, -scale])
    fake = tf.Variable([scale, scale, -scale, -scale])
    with tf.GradientTape(persistent=True) as tape:
        g = loss.generator(fake)
        d = loss.discriminator(real, fake)
        g_sum, d_sum = tf.reduce_sum(g), tf.reduce_sum(d.total)
    for value in (g, d.total, d.real, d.fake):
        assert np.all(np.isfinite(value.numpy())), value
    grads = [tape.gradient(g_sum, fake), *tape.gradient(d_sum, [real, fake])]
    for grad in grads:
        assert grad is not None
        assert np.all(np.isfinite(grad.numpy())), grad
    del tape


def test_extreme_logits_saturate_to_the_right_limits():
    """softplus-based losses take their asymptotes at +-1e4 (no inf / nan / wraparound):
    softplus(-1e4) -> 0 and softplus(1e4) -> 1e4."""
    big = tf.constant([1e4, -1e4])
    np.testing.assert_allclose(losses.non_saturating_generator_loss(big).numpy(), [0.0, 1e4],
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(losses.minimax_generator_loss(big).numpy(), [-1e4, 0.0],
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["non_saturating", "minimax", "hinge", "wasserstein"])
def test_generator_loss_decreases_as_fake_logit_rises(name):
    """dL_G/d(fake logit) < 0, and raising every fake logit by 0.5 lowers L_G."""
    gen = losses.LOSSES[name].generator
    fake = tf.Variable(FAKE)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(gen(fake))
    grad = tape.gradient(total, fake).numpy()
    assert np.all(grad < 0), grad
    assert np.all(gen(tf.constant(FAKE + 0.5)).numpy() < gen(tf.constant(FAKE)).numpy())


def test_least_squares_generator_pulls_fake_logits_towards_one():
    """LSGAN's G loss has its minimum at D(G(z)) = 1: gradient f - 1 (hand-derived)."""
    fake = tf.Variable(FAKE)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(losses.least_squares_generator_loss(fake))
    np.testing.assert_allclose(tape.gradient(total, fake).numpy(), FAKE - 1.0, rtol=1e-6)


@pytest.mark.parametrize("name", ["non_saturating", "minimax", "wasserstein"])
def test_discriminator_loss_rewards_separating_real_and_fake(name):
    """dL_D/d(real) < 0 and dL_D/d(fake) > 0 for the losses without a flat region."""
    disc = losses.LOSSES[name].discriminator
    real, fake = tf.Variable(REAL), tf.Variable(FAKE)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(disc(real, fake).total)
    g_real, g_fake = tape.gradient(total, [real, fake])
    assert np.all(g_real.numpy() < 0) and np.all(g_fake.numpy() > 0)


# --- Penalties ------------------------------------------------------------------------
SHAPE = (3, 2, 3, 4, 3)  # [B, T, H, W, C]
RNG = np.random.default_rng(1234)
W_LIN = RNG.normal(size=SHAPE[1:]).astype(np.float32)  # ||w|| ~ 8.5, far from 1
X_REAL = RNG.uniform(-1, 1, size=SHAPE).astype(np.float32)
X_FAKE = RNG.uniform(-1, 1, size=SHAPE).astype(np.float32)
EPS = np.array([0.0, 0.3, 1.0], np.float32)  # includes both endpoints


def linear_critic(w):
    """D(x) = sum(w * x) per example; its input gradient is w for every example."""
    return lambda x: tf.reduce_sum(w * x, axis=[1, 2, 3, 4])


def quadratic_critic(x):
    """D(x) = sum(x^2) per example; its input gradient is 2x."""
    return tf.reduce_sum(tf.square(x), axis=[1, 2, 3, 4])


def test_wgan_gp_linear_critic():
    """GP = (||w|| - 1)^2 for every example whatever epsilon (gradient of a linear D is w)."""
    norm_w = np.sqrt(np.sum(W_LIN.astype(np.float64) ** 2))
    gp = losses.wgan_gp_penalty(linear_critic(tf.constant(W_LIN)), tf.constant(X_REAL),
                                tf.constant(X_FAKE), tf.constant(EPS))
    assert gp.shape == (3,)
    np.testing.assert_allclose(gp.numpy(), np.full(3, (norm_w - 1.0) ** 2), rtol=1e-5)


def test_wgan_gp_unit_norm_linear_critic_is_zero():
    """A 1-Lipschitz linear critic with ||w|| = 1 has zero gradient penalty."""
    w = W_LIN / np.linalg.norm(W_LIN)
    gp = losses.wgan_gp_penalty(linear_critic(tf.constant(w)), tf.constant(X_REAL),
                                tf.constant(X_FAKE), tf.constant(EPS))
    np.testing.assert_allclose(gp.numpy(), np.zeros(3), atol=1e-6)


def test_r1_linear_critic():
    """R1 = 0.5 ||w||^2 for every example."""
    r1 = losses.r1_penalty(linear_critic(tf.constant(W_LIN)), tf.constant(X_REAL))
    assert r1.shape == (3,)
    expected = 0.5 * np.sum(W_LIN.astype(np.float64) ** 2)
    np.testing.assert_allclose(r1.numpy(), np.full(3, expected), rtol=1e-5)


def test_r1_quadratic_critic():
    """R1 = 0.5 ||2x||^2 per example for D(x) = sum(x^2)."""
    r1 = losses.r1_penalty(quadratic_critic, tf.constant(X_REAL))
    x = X_REAL.astype(np.float64).reshape(3, -1)
    np.testing.assert_allclose(r1.numpy(), 0.5 * np.sum((2 * x) ** 2, axis=1), rtol=1e-5)


def test_r1_r2_quadratic_critic():
    """R1 + R2 = 0.5 ||2 x_real||^2 + 0.5 ||2 x_fake||^2 per example for D(x) = sum(x^2)."""
    both = losses.r1_r2_penalty(quadratic_critic, tf.constant(X_REAL), tf.constant(X_FAKE))
    real = X_REAL.astype(np.float64).reshape(3, -1)
    fake = X_FAKE.astype(np.float64).reshape(3, -1)
    np.testing.assert_allclose(both.numpy(), 0.5 * np.sum((2 * real) ** 2, axis=1)
                               + 0.5 * np.sum((2 * fake) ** 2, axis=1), rtol=1e-5)


def test_wgan_gp_quadratic_critic_uses_interpolates():
    """GP = (||2 x_hat|| - 1)^2 with x_hat = eps*real + (1-eps)*fake, per example's eps."""
    gp = losses.wgan_gp_penalty(quadratic_critic, tf.constant(X_REAL), tf.constant(X_FAKE),
                                tf.constant(EPS))
    eps = EPS.astype(np.float64)[:, None, None, None, None]
    x_hat = eps * X_REAL + (1.0 - eps) * X_FAKE
    norms = np.sqrt(np.sum((2 * x_hat.reshape(3, -1)) ** 2, axis=1))
    np.testing.assert_allclose(gp.numpy(), (norms - 1.0) ** 2, rtol=1e-5)
    # eps = 1 evaluates at the real clip, eps = 0 at the fake one.
    real_norm = np.linalg.norm(2 * X_REAL[2].astype(np.float64))
    fake_norm = np.linalg.norm(2 * X_FAKE[0].astype(np.float64))
    np.testing.assert_allclose(gp.numpy()[[0, 2]], [(fake_norm - 1) ** 2, (real_norm - 1) ** 2],
                               rtol=1e-5)


def test_penalties_are_differentiable_wrt_critic_weights():
    """Double backprop reaches w: d/dw sum_i (||w||-1)^2 = B * 2(||w||-1) w/||w||,
    and d/dw sum_i 0.5||w||^2 = B * w."""
    w = tf.Variable(W_LIN)
    with tf.GradientTape(persistent=True) as tape:
        gp = tf.reduce_sum(losses.wgan_gp_penalty(linear_critic(w), tf.constant(X_REAL),
                                                  tf.constant(X_FAKE), tf.constant(EPS)))
        r1 = tf.reduce_sum(losses.r1_penalty(linear_critic(w), tf.constant(X_REAL)))
    gp_grad, r1_grad = tape.gradient(gp, w), tape.gradient(r1, w)
    del tape
    assert gp_grad is not None and r1_grad is not None
    gp_grad, r1_grad = gp_grad.numpy(), r1_grad.numpy()
    assert np.all(np.isfinite(gp_grad)) and np.any(gp_grad != 0)
    w64 = W_LIN.astype(np.float64)
    norm_w = np.linalg.norm(w64)
    np.testing.assert_allclose(gp_grad, 3 * 2 * (norm_w - 1) * w64 / norm_w, rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_allclose(r1_grad, 3 * w64, rtol=1e-5, atol=1e-6)


def test_gradient_penalty_is_per_example():
    """Each example's penalty depends only on its own input (no cross-batch mixing):
    changing example 0 leaves examples 1 and 2 unchanged."""
    gp_a = losses.r1_penalty(quadratic_critic, tf.constant(X_REAL)).numpy()
    changed = X_REAL.copy()
    changed[0] *= 3.0
    gp_b = losses.r1_penalty(quadratic_critic, tf.constant(changed)).numpy()
    np.testing.assert_allclose(gp_b[1:], gp_a[1:], rtol=1e-6)
    np.testing.assert_allclose(gp_b[0], 9.0 * gp_a[0], rtol=1e-5)  # ||2*3x||^2 = 9 ||2x||^2


# --- Top-k training --------------------------------------------------------------------
def test_top_k_share_anneals_linearly_from_one():
    shares = [float(losses.top_k_share(tf.constant(s, tf.int64), 0.5, 100))
              for s in (0, 50, 100, 400)]
    np.testing.assert_allclose(shares, [1.0, 0.75, 0.5, 0.5])
    assert float(losses.top_k_share(tf.constant(0, tf.int64), 0.25, 0)) == 0.25


def _top_k(strategy, scores, share, step=0, anneal=0):
    """top_k_weights of `scores` [B] split over the strategy's replicas, gathered back."""
    config = LossConfig(top_k=share, top_k_steps=anneal)
    per_replica = len(scores) // strategy.num_replicas_in_sync

    def replica(_):
        ctx = tf.distribute.get_replica_context()
        mine = tf.constant(scores, tf.float32)[
            ctx.replica_id_in_sync_group * per_replica:][:per_replica]
        return losses.top_k_weights(mine, tf.constant(step, tf.int64), config)

    out = strategy.run(replica, args=(tf.constant(0),))
    return np.concatenate([v.numpy() for v in strategy.experimental_local_results(out)])


def test_top_k_weights_keep_the_best_rated_fakes_of_the_global_batch():
    """k = ceil(share * B) clips with the highest scores get weight B / k, the others 0
    (so the mean over the batch is the mean over the kept clips); two replicas, each with
    half the batch, keep exactly the clips one device keeps, even when one replica holds
    all of the best."""
    scores = [0.3, -1.0, 2.0, 0.9, -0.2, 1.5, 0.0, -3.0]
    expected = np.array([2, 0, 2, 2, 0, 2, 0, 0], np.float32)  # the top 4 of 8, 8 / 4
    np.testing.assert_array_equal(_top_k(one_device(), scores, 0.5), expected)
    np.testing.assert_array_equal(_top_k(mirrored(), scores, 0.5), expected)
    np.testing.assert_allclose(_top_k(one_device(), scores, 0.375),  # the top 3, 8 / 3
                               np.array([0, 0, 1, 1, 0, 1, 0, 0]) * 8 / 3, rtol=1e-6)
    ranked = [5.0, 4.0, 3.0, 2.0, -1.0, -2.0, -3.0, -4.0]  # all the best on replica 0
    np.testing.assert_array_equal(_top_k(mirrored(), ranked, 0.5),
                                  [2, 2, 2, 2, 0, 0, 0, 0])
    np.testing.assert_array_equal(_top_k(one_device(), scores, 1.0), np.ones(8))
    # Ties: exactly k clips are kept, the earlier rows first, on one device or two.
    for strategy in (one_device(), mirrored()):
        np.testing.assert_array_equal(_top_k(strategy, [1.0] * 8, 0.5), [2] * 4 + [0] * 4)
    # float32 0.6 * 25 is a hair above 15: still the best 15 of 25 kept (not 16)
    np.testing.assert_allclose(_top_k(one_device(), list(range(25)), 0.6),
                               [0] * 10 + [25 / 15] * 15, rtol=1e-6)
    # Annealed: halfway through 100 steps towards 0.25 the share is 0.625: 5 of 8 kept.
    np.testing.assert_allclose(_top_k(one_device(), scores, 0.25, step=50, anneal=100),
                               np.array([1, 0, 1, 1, 0, 1, 1, 0]) * 8 / 5, rtol=1e-6)


def test_reconstruction_is_l1_over_the_frames_after_the_context():
    """loss.reconstruction * mean |fake - real| per clip over frames k.. only (the first k
    are the context, which the model is given); {} when the weight is 0."""
    from types import SimpleNamespace

    def config(weight, k):
        return SimpleNamespace(loss=SimpleNamespace(reconstruction=weight),
                               data=SimpleNamespace(context_frames=k))

    rng = np.random.default_rng(0)
    fake = rng.uniform(-1, 1, (3, 5, 4, 4, 3)).astype(np.float32)
    real = rng.uniform(-1, 1, (3, 5, 4, 4, 3)).astype(np.float32)
    real[:, :2] = 9.0  # context frames: far off, and never counted with k = 2
    got = losses.reconstruction(tf.constant(fake), tf.constant(real), config(2.5, 2))
    expected = 2.5 * np.abs(fake[:, 2:].astype(np.float64) - real[:, 2:]).mean(axis=(1, 2, 3, 4))
    assert set(got) == {"reconstruction"}
    np.testing.assert_allclose(got["reconstruction"].numpy(), expected, rtol=1e-5)
    assert losses.reconstruction(tf.constant(fake), tf.constant(real), config(0.0, 2)) == {}
