"""What differs between the processes of one run, and what they must agree on.

Under MultiWorkerMirroredStrategy every worker runs the same program; worker 0 (the
chief) alone writes the workdir. Saving is collective, so the others save too, into a
scratch directory they remove (`close`). Each step the workers agree on whether to stop
(`any`), and at start that they restored the same step (`check_same_step`). In a single
process every method is the plain single-process behaviour.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from typing import Callable

import tensorflow as tf

from vidgan.config import ConfigError
from vidgan.training import strategy as strategy_lib
from vidgan.training import workdir as workdir_lib


class Workers:
    def __init__(self, strategy: tf.distribute.Strategy, workdir: str):
        self.strategy = strategy
        self.chief = strategy_lib.is_chief(strategy)
        self.multi_worker = strategy_lib.is_multi_worker(strategy)
        self.checkpoint_dir = os.path.join(workdir, workdir_lib.CHECKPOINTS)
        self._scratch: str | None = None
        self._sum = tf.function(self._sum_fn, autograph=False)

    def manager(self, checkpoint: tf.train.Checkpoint, keep: int) -> tf.train.CheckpointManager:
        """The chief's manager writes the workdir; another worker's a scratch directory."""
        if self.chief:
            return tf.train.CheckpointManager(checkpoint, self.checkpoint_dir, max_to_keep=keep)
        self._scratch = tempfile.mkdtemp(
            prefix=f"vidgan-{strategy_lib.task_name(self.strategy) or 'worker'}-")
        return tf.train.CheckpointManager(checkpoint, self._scratch, max_to_keep=1)

    def latest_checkpoint(self) -> str | None:
        """The workdir's latest checkpoint (the chief's), on every worker."""
        return tf.train.latest_checkpoint(self.checkpoint_dir)

    def close(self) -> None:
        """Removes a non-chief worker's scratch checkpoints."""
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)

    def _sum_fn(self, values: tf.Tensor) -> tf.Tensor:
        """values float64 [N] of this process -> their sum over every replica of every
        worker (each replica holds this process's values)."""
        def replica(values: tf.Tensor) -> tf.Tensor:
            values = tf.identity(values)  # on this replica's device
            return tf.distribute.get_replica_context().all_reduce(
                tf.distribute.ReduceOp.SUM, values)
        return self.strategy.experimental_local_results(
            self.strategy.run(replica, args=(values,)))[0]

    def any(self, *flags: bool) -> tuple[bool, ...]:
        """Each flag: true on any worker? (One small all-reduce: the workers must stop at
        the same step.) The flags themselves in one process."""
        if not self.multi_worker:
            return flags
        sums = self._sum(tf.constant([float(f) for f in flags], tf.float64)).numpy()
        return tuple(bool(n > 0) for n in sums)

    def check_same_step(self, step: int) -> None:
        """ConfigError unless every worker restored `step` (a workdir that is not one
        shared filesystem, or a stale view of it, would make the workers diverge)."""
        if not self.multi_worker:
            return
        replicas = self.strategy.num_replicas_in_sync
        # All equal <=> the variance of the replicas' steps is 0 (exact in float64).
        total, squares = self._sum(tf.constant([step, step * step], tf.float64)).numpy()
        mean = total / replicas
        if squares / replicas - mean * mean > 0.5:
            raise ConfigError(
                f"the workers restored different steps (this one {step}, their mean "
                f"{mean:g}): every worker needs the same --workdir on one shared filesystem")

    def distribute(self, make_dataset: Callable[[], tf.data.Dataset], global_batch: int):
        """An iterator of each replica's rows of every global batch of `make_dataset()`:
        replica i (workers in order, then their devices) gets rows [i*b, (i+1)*b), so any
        number of workers and devices sees what one device would."""
        if not self.multi_worker:  # tf.distribute splits each batch into contiguous parts
            return iter(self.strategy.experimental_distribute_dataset(make_dataset()))
        local = global_batch // self.strategy.num_replicas_in_sync

        def worker_dataset(context: tf.distribute.InputContext) -> tf.data.Dataset:
            # Every worker runs the global-batch pipeline (exact streams at the cost of
            # decoding what others use) and yields its replicas' parts, one per element.
            here = context.num_replicas_in_sync // context.num_input_pipelines
            first = context.input_pipeline_id * here * local

            def parts(batch: dict) -> tf.data.Dataset:
                mine = {k: v[first:first + here * local] for k, v in batch.items()}
                return tf.data.Dataset.from_tensor_slices(
                    {k: tf.reshape(v, [here, local, *v.shape[1:]]) for k, v in mine.items()})

            return make_dataset().flat_map(parts)

        return iter(self.strategy.distribute_datasets_from_function(worker_dataset))


def loopback_cluster(n: int) -> list[str]:
    """TF_CONFIG of each of `n` workers on free 127.0.0.1 ports: a cluster on one machine
    (tests, benchmarks, trying multi_worker out). The ports are free when chosen."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        workers = [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]
    finally:
        for s in sockets:
            s.close()
    return [json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}})
            for i in range(n)]
