"""Adam as one fused kernel per variable.

Keras' Adam writes its update as ~25 small ops per variable (casts, the bias-correction
powers, the moment updates, the step), so a GAN with ~300 variables adds thousands of ops
to every step; at vidgan's model sizes on CPU the step is bound by per-op cost, not FLOPs.
`FusedAdam` keeps Keras' optimizer (slots, iterations, schedules, checkpoints, loss
scaling, distribution) and replaces only the per-variable update with TensorFlow's
`ResourceApplyAdam` kernel, which computes the same formula in one op:

    lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
    m += (g - m) * (1 - beta_1);  v += (g^2 - v) * (1 - beta_2)
    var -= lr_t * m / (sqrt(v) + epsilon)
"""

from __future__ import annotations

import keras
import tensorflow as tf


def _handle(variable) -> tf.Tensor:
    """The resource handle of a Keras or TF variable (inside a distributed update, the
    component on the device being updated)."""
    return (variable.value if isinstance(variable, keras.Variable) else variable).handle


class FusedAdam(keras.optimizers.Adam):
    """keras.optimizers.Adam (without amsgrad or weight decay) whose per-variable update is
    TensorFlow's fused ResourceApplyAdam kernel; same slots, so checkpoints interchange."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.amsgrad or self.weight_decay:
            raise ValueError("FusedAdam has no amsgrad or weight decay: use keras' Adam")

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=_handle(variable), m=_handle(self._momentums[index]),
            v=_handle(self._velocities[index]),
            beta1_power=tf.pow(tf.cast(self.beta_1, dtype), step),
            beta2_power=tf.pow(tf.cast(self.beta_2, dtype), step),
            lr=tf.cast(learning_rate, dtype), beta1=tf.cast(self.beta_1, dtype),
            beta2=tf.cast(self.beta_2, dtype), epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype))
