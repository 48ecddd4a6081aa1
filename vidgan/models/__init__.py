"""Model registry: config names -> classes, so new architectures need no trainer change."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vidgan.models.discriminators import VideoDiscriminator
from vidgan.models.generators import VideoGenerator
from vidgan.models.layers import StagePlan, plan_stages

if TYPE_CHECKING:
    from vidgan.config import Config

GENERATORS = {"dcgan3d": VideoGenerator}
DISCRIMINATORS = {"dcgan3d": VideoDiscriminator}


def build_generator(config: "Config", name: str = "generator") -> VideoGenerator:
    """An UNBUILT generator for `config`; call it on a latent batch to create weights."""
    g, d = config.model.generator, config.data
    return GENERATORS[g.name](
        d.num_frames, d.height, d.width, z_dim=g.z_dim, channels=g.channels,
        max_channels=g.max_channels, norm=g.norm, rgb_kernel=g.rgb_kernel,
        rgb_mix=g.rgb_mix, name=name)


def build_discriminator(config: "Config", name: str = "discriminator") -> VideoDiscriminator:
    """An UNBUILT discriminator for `config`; call it on a video batch to create weights."""
    m, d = config.model.discriminator, config.data
    return DISCRIMINATORS[m.name](
        d.num_frames, d.height, d.width, channels=m.channels, max_channels=m.max_channels,
        norm=m.norm, spectral_norm=m.spectral_norm, name=name)


__all__ = [
    "DISCRIMINATORS", "GENERATORS", "StagePlan", "VideoDiscriminator", "VideoGenerator",
    "build_discriminator", "build_generator", "plan_stages",
]
