"""vidgan: GAN-based video generation with TensorFlow/Keras.

Videos are `[B, T, H, W, C]` tensors (channels last), float32 in [-1, 1] inside
the library; uint8 [0, 255] only at the edges (decode, encode, export).
"""

__version__ = "0.1.0"
