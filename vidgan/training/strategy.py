"""The one place a tf.distribute strategy is created, and what differs per worker.

Multi-worker ("multi_worker"): TensorFlow's MultiWorkerMirroredStrategy, the cluster from
TF_CONFIG (or from Slurm's SLURM_* variables through SlurmClusterResolver when TF_CONFIG
is unset); RING collectives on CPU, NCCL on GPU. Every worker runs the same command with
its own TF_CONFIG task; the workdir must be one filesystem all of them see (NFS, GCS).
"tpu": TPUStrategy through TPUClusterResolver (selectable; not testable on this project's
machines).
"""

from __future__ import annotations

import os

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
    if config.strategy == "multi_worker":
        return _checked(multi_worker_strategy(), config)
    if config.strategy == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return _checked(tf.distribute.TPUStrategy(resolver), config)
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
    return _checked(strategy, config)


def strategy_name(strategy: tf.distribute.Strategy) -> str:
    """The public class name (TF's MultiWorkerMirroredStrategy is internally
    CollectiveAllReduceStrategy)."""
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return "MultiWorkerMirroredStrategy"
    return type(strategy).__name__


def _checked(strategy: tf.distribute.Strategy, config: TrainConfig) -> tf.distribute.Strategy:
    logging.info("Strategy %s over %d replica(s): %s", strategy_name(strategy),
                 strategy.num_replicas_in_sync, ", ".join(strategy.extended.worker_devices))
    check_batch(config.batch_size, strategy)
    return strategy


def multi_worker_strategy() -> tf.distribute.MultiWorkerMirroredStrategy:
    """MultiWorkerMirroredStrategy over the cluster of TF_CONFIG, else of Slurm's SLURM_*
    variables; ConfigError (one line) when neither describes a cluster."""
    if os.environ.get("TF_CONFIG"):
        resolver, source = tf.distribute.cluster_resolver.TFConfigClusterResolver(), "TF_CONFIG"
    elif os.environ.get("SLURM_JOB_ID"):
        source = "Slurm (run it under srun, one task per worker)"
        try:
            # gpus_per_node given: the resolver would otherwise run nvidia-smi, absent on
            # CPU nodes.
            resolver = tf.distribute.cluster_resolver.SlurmClusterResolver(
                gpus_per_node=len(tf.config.list_physical_devices("GPU")))
        except (KeyError, RuntimeError, ValueError, OSError) as e:
            raise ConfigError(f"train.strategy=multi_worker: no cluster from {source}: "
                              f"{type(e).__name__}: {e}") from None
    else:
        raise ConfigError("train.strategy=multi_worker needs the cluster in TF_CONFIG (or a "
                          "Slurm job's SLURM_* variables); see the README's multi-worker "
                          "section")
    if not resolver.cluster_spec().as_dict():
        raise ConfigError(f"train.strategy=multi_worker: {source} describes no cluster")
    gpus = tf.config.list_physical_devices("GPU")
    implementation = (tf.distribute.experimental.CommunicationImplementation.NCCL if gpus
                      else tf.distribute.experimental.CommunicationImplementation.RING)
    return tf.distribute.MultiWorkerMirroredStrategy(
        cluster_resolver=resolver,
        communication_options=tf.distribute.experimental.CommunicationOptions(
            implementation=implementation))


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and (
        strategy.cluster_resolver is not None
        and len(strategy.cluster_resolver.cluster_spec().as_dict()) > 0)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True on the one process that writes the workdir (summaries, samples, config.json,
    checkpoints); every process of a single-process strategy."""
    return strategy.extended.should_checkpoint


def task_name(strategy: tf.distribute.Strategy) -> str:
    """"worker_1" for a multi-worker task, "" for a single process."""
    if not is_multi_worker(strategy):
        return ""
    resolver = strategy.cluster_resolver
    return f"{resolver.task_type}_{resolver.task_id}"


def check_batch(batch_size: int, strategy: tf.distribute.Strategy) -> None:
    """ConfigError unless the global batch splits evenly over the strategy's replicas."""
    if batch_size % strategy.num_replicas_in_sync:
        raise ConfigError(f"train.batch_size={batch_size} must be a multiple of the "
                          f"{strategy.num_replicas_in_sync} replicas")
