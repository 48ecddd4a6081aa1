"""FusedAdam: keras' Adam with one fused kernel per variable; same numbers, same slots."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import mirrored, one_device
from vidgan.training.optimizers import FusedAdam


def _train(optimizer_cls, strategy, steps: int = 5):
    """A two-layer model trained `steps` Adam steps (a decaying learning rate, beta_1 0 as
    vidgan's presets) on fixed data; its weights and the optimizer's slots after."""
    keras.utils.set_random_seed(0)
    x = np.random.RandomState(0).randn(8, 5).astype("float32")
    with strategy.scope():
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4),
                                  keras.layers.Dense(1)])
        optimizer = optimizer_cls(keras.optimizers.schedules.PolynomialDecay(1e-2, 10, 1e-3),
                                  beta_1=0.0, beta_2=0.99)
        optimizer.build(model.trainable_variables)

    def replica_step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(model(x) ** 2)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))

    step = tf.function(lambda: strategy.run(replica_step), autograph=False)
    for _ in range(steps):
        step()
    assert int(optimizer.iterations.numpy()) == steps
    return ([v.numpy() for v in model.trainable_variables],
            [v.numpy() for v in optimizer.variables[1:]])


@pytest.mark.parametrize("make_strategy", [one_device, mirrored])
def test_fused_adam_matches_keras_adam(make_strategy):
    weights, slots = _train(keras.optimizers.Adam, make_strategy())
    fused_weights, fused_slots = _train(FusedAdam, make_strategy())
    start, _ = _train(FusedAdam, make_strategy(), steps=0)
    for a, b, w0 in zip(weights, fused_weights, start):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-7)
        assert not np.allclose(b, w0)  # it trained
    assert len(slots) == len(fused_slots)  # m and v per variable (+ the learning rate)
    for a, b in zip(slots, fused_slots):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-7)


def test_fused_adam_refuses_what_its_kernel_lacks():
    with pytest.raises(ValueError, match="no amsgrad or weight decay"):
        FusedAdam(amsgrad=True)
    with pytest.raises(ValueError, match="no amsgrad or weight decay"):
        FusedAdam(weight_decay=0.01)
