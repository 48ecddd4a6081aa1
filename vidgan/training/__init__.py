"""Adversarial training under a tf.distribute strategy."""

from vidgan.training.strategy import make_strategy, split_cpu
from vidgan.training.loop import NonFiniteLossError, TrainingLoop
from vidgan.training.trainer import Trainer, train

__all__ = ["NonFiniteLossError", "Trainer", "TrainingLoop", "make_strategy", "split_cpu", "train"]
