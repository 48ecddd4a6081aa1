"""The one place a tf.distribute strategy is created."""

from __future__ import annotations

from absl import logging
import tensorflow as tf

from vidgan.config import ConfigError, TrainConfig


def split_cpu(num_devices: int) -> list[str]:
    """Makes the host CPU appear as `num_devices` logical devices; returns their names.

    Must run before TensorFlow initializes its devices (before any op runs). If that
    already happened, the existing split is used when it has enough devices.
    """
    cpu = tf.config.list_physical_devices("CPU")[0]
    if num_devices > 1 and tf.config.get_logical_device_configuration(cpu) is None:
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices)
        except RuntimeError:
            pass  # already initialized; checked below
    available = [d.name for d in tf.config.list_logical_devices("CPU")]
    if len(available) < num_devices:
        raise ConfigError(
            f"train.cpu_devices={num_devices}, but TensorFlow was already initialized with "
            f"{len(available)} CPU device(s); split the CPU before running any TF op")
    return available[:num_devices]


def make_strategy(config: TrainConfig) -> tf.distribute.Strategy:
    """'auto': all GPUs mirrored if there are several, else one GPU, else the CPU
    (mirrored over `cpu_devices` logical devices when that is > 1).
    'one_device': the first GPU or the CPU. 'mirrored': all GPUs, or the CPU split
    into `cpu_devices` logical devices.
    """
    gpus = tf.config.list_physical_devices("GPU")
    if config.strategy == "one_device":
        strategy = tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    elif gpus and (config.strategy == "mirrored" or len(gpus) > 1):
        strategy = tf.distribute.MirroredStrategy()
    elif gpus:
        strategy = tf.distribute.OneDeviceStrategy("/gpu:0")
    elif config.cpu_devices > 1 or config.strategy == "mirrored":
        strategy = tf.distribute.MirroredStrategy(
            split_cpu(config.cpu_devices),
            cross_device_ops=tf.distribute.ReductionToOneDevice())
    else:
        strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    logging.info("Strategy %s over %d replica(s): %s", type(strategy).__name__,
                 strategy.num_replicas_in_sync, ", ".join(strategy.extended.worker_devices))
    check_batch(config.batch_size, strategy)
    return strategy


def check_batch(batch_size: int, strategy: tf.distribute.Strategy) -> None:
    """ConfigError unless the global batch splits evenly over the strategy's replicas."""
    if batch_size % strategy.num_replicas_in_sync:
        raise ConfigError(f"train.batch_size={batch_size} must be a multiple of the "
                          f"{strategy.num_replicas_in_sync} replicas")
