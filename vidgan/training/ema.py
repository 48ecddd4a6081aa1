"""The exponential moving average of the generator's weights (what samples, FVD and export
use)."""

from __future__ import annotations

import keras
import tensorflow as tf


def update_ema(ema: keras.Model, model: keras.Model, step: tf.Tensor, decay: float) -> None:
    """ema <- d * ema + (1 - d) * model for trainable weights, with d = min(decay, (1 + s) /
    (10 + s)) warmed up over the first steps; non-trainable state (batch-norm statistics)
    is copied."""
    s = tf.cast(step, tf.float32)
    d = tf.minimum(decay, (1.0 + s) / (10.0 + s))
    for average, var in zip(ema.trainable_variables, model.trainable_variables):
        average.assign(d * average + (1.0 - d) * var)
    for average, var in zip(ema.non_trainable_variables, model.non_trainable_variables):
        average.assign(var)
