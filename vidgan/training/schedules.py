"""Learning-rate schedules: functions of the optimizer's update count, so a resumed run
continues the same schedule."""

from __future__ import annotations

import keras
import tensorflow as tf


class TailDecay(keras.optimizers.schedules.LearningRateSchedule):
    """`peak` for the first `start` updates, then linearly to 0 at update `end`."""

    def __init__(self, peak: float, start: int, end: int):
        self.peak, self.start, self.end = float(peak), int(start), int(end)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        left = (self.end - step) / max(self.end - self.start, 1)
        return self.peak * tf.clip_by_value(left, 0.0, 1.0)

    def get_config(self):
        return {"peak": self.peak, "start": self.start, "end": self.end}


def learning_rate(peak: float, decay_from: float, updates: int):
    """A constant `peak`, or (decay_from < 1) TailDecay over the last part of `updates`."""
    if decay_from >= 1.0:
        return peak
    return TailDecay(peak, round(decay_from * updates), updates)
