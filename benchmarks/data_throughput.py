"""Time to render one batch of built-in synthetic clips (median over 20 batches).

    python benchmarks/data_throughput.py [--source=bouncing_shapes] [--frames=16] [--size=64]
"""

import argparse
import statistics
import time

from vidgan.config import DataConfig
from vidgan.data import make_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="bouncing_shapes")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    config = DataConfig(source=args.source, num_frames=args.frames, height=args.size,
                        width=args.size)
    iterator = iter(make_dataset(config, args.batch))
    for _ in range(5):  # warm-up: tracing and the prefetch buffer
        next(iterator)
    times = []
    for _ in range(20):
        start = time.perf_counter()
        next(iterator)
        times.append(time.perf_counter() - start)
    ms = 1000 * statistics.median(times)
    print(f"{args.source} {args.batch}x{args.frames}x{args.size}x{args.size}: "
          f"{ms:.1f} ms/batch, {1000 * args.batch / ms:.0f} clips/s")


if __name__ == "__main__":
    main()
