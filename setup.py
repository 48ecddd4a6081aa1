"""vidgan: GAN-based video generation with TensorFlow/Keras."""

import pathlib
import re

import setuptools

_HERE = pathlib.Path(__file__).parent
_VERSION = re.search(
    r'__version__ = "([^"]+)"', (_HERE / "vidgan" / "__init__.py").read_text()
).group(1)

setuptools.setup(
    name="vidgan",
    version=_VERSION,
    description="Train 3D-convolutional video GANs with TensorFlow/Keras.",
    long_description=(_HERE / "README.md").read_text(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=setuptools.find_packages(include=["vidgan", "vidgan.*", "data_pipelines"]),
    install_requires=[
        # 2.16 is the first release whose tf.keras is Keras 3; 2.21 is tested.
        "tensorflow>=2.16,<2.22",
        "keras>=3.3,<4",
        "numpy>=1.26,<3",
        "opencv-python-headless>=4.9",
        "absl-py>=2.0",
        "ml-collections>=0.1.1",
        "tensorboard>=2.16,<2.22",
        "pillow>=10",
        # FFmpeg + libx264 bundled in the wheel, in process: H.264 mp4 that browsers play.
        "av>=12",
        "tqdm>=4.60",
        # A process pool that survives a crashed worker and has per-task timeouts: native
        # decoders run in it, so a crash or hang on one file costs that file (data.isolation).
        "pebble>=5.1,<6",
        # Only its pure-TF ops load on TF 2.21 (see BUILD.md); the sharpen pass's blur uses one.
        "tensorflow-io>=0.37,<0.38",
    ],
    extras_require={
        # LiteRT exports: `vidgan synthesize` runs .tflite files on this interpreter.
        "litert": ["ai-edge-litert>=2.0"],
        # `vidgan synthesize --runner=...`: batch synthesis as an Apache Beam pipeline.
        "beam": ["apache-beam>=2.60"],
        # The suite tests every format and the Beam path, so it installs both extras.
        "test": ["pytest>=8", "pytest-timeout>=2.3", "pytest-xdist>=3.5",
                 "ai-edge-litert>=2.0", "apache-beam>=2.60"],
    },
    entry_points={"console_scripts": ["vidgan=vidgan.cli.main:run"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
        "Topic :: Multimedia :: Video",
    ],
)
