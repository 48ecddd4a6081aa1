"""Adversarial training under a tf.distribute strategy."""

from vidgan.training.strategy import make_strategy, split_cpu
from vidgan.training.trainer import NonFiniteLossError, Trainer, train

__all__ = ["NonFiniteLossError", "Trainer", "make_strategy", "split_cpu", "train"]
