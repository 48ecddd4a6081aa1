"""Evaluation metrics for generated video."""

from vidgan.metrics.stats import STAT_NAMES, statistics_distance, video_statistics

__all__ = ["STAT_NAMES", "statistics_distance", "video_statistics"]
