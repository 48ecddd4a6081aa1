"""Video files: write_video/read_video round trips per format, input checks, atomic writes."""

import os

import numpy as np
import pytest

from vidgan.data import video_io

T, H, W = 6, 16, 24


@pytest.fixture
def noise():
    """Pixel-wise random uint8 [6, 16, 24, 3]: the hardest case for lossless formats."""
    return np.random.default_rng(0).integers(0, 256, (T, H, W, 3), dtype=np.uint8)


@pytest.fixture
def blocks():
    """Random colors on 8x8 blocks, new ones every frame, uint8 [6, 16, 24, 3]: codec-
    friendly (pure noise is destroyed by 4:2:0 chroma subsampling) and at most 36 colors,
    so a GIF palette can hold them exactly."""
    colors = np.random.default_rng(1).integers(0, 256, (T, H // 8, W // 8, 3), dtype=np.uint8)
    return np.repeat(np.repeat(colors, 8, axis=1), 8, axis=2)


def leftovers(folder):
    return [name for name in os.listdir(folder) if ".tmp-" in name]


@pytest.mark.parametrize("format", ["npz", "png_strip"])
def test_lossless_formats_round_trip_exactly(tmp_path, noise, format):
    """npz and png_strip give back exactly the written video."""
    path = str(tmp_path / f"v{video_io.EXTENSIONS[format]}")
    video_io.write_video(path, noise, 8, format)
    back = video_io.read_video(path, format, num_frames=T)
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, noise)


def test_png_strip_is_frames_side_by_side(tmp_path, noise):
    """A png_strip file is one [H, T*W] RGB image with frame t at columns t*W..(t+1)*W."""
    from PIL import Image  # noqa: PLC0415

    path = str(tmp_path / "v.png")
    video_io.write_video(path, noise, 8, "png_strip")
    with Image.open(path) as image:
        strip = np.asarray(image.convert("RGB"))
    assert strip.shape == (H, T * W, 3)
    np.testing.assert_array_equal(strip[:, 2 * W:3 * W], noise[2])


def test_gif_round_trip_keeps_every_distinct_frame(tmp_path, blocks):
    """A GIF of 6 different frames reads back as 6 frames, exact for <= 256 colors."""
    path = str(tmp_path / "v.gif")
    video_io.write_video(path, blocks, 8, "gif")
    back = video_io.read_video(path, "gif")
    assert back.shape == blocks.shape
    np.testing.assert_array_equal(back, blocks)


def test_gif_of_noise_keeps_frame_count_and_size(tmp_path, noise):
    """A GIF of full-color noise keeps 6 frames of 16x24 and stays close on average."""
    path = str(tmp_path / "v.gif")
    video_io.write_video(path, noise, 8, "gif")
    back = video_io.read_video(path, "gif")
    assert back.shape == noise.shape
    assert np.abs(back.astype(int) - noise.astype(int)).mean() < 16


def test_gif_merges_identical_frames_but_keeps_size(tmp_path, blocks):
    """Merged identical GIF frames keep the frame size and the distinct frames in order."""
    video = np.concatenate([blocks[:1]] * 3 + [blocks[1:2]] * 3)  # 2 distinct frames
    path = str(tmp_path / "v.gif")
    video_io.write_video(path, video, 8, "gif")
    back = video_io.read_video(path, "gif")
    assert 2 <= back.shape[0] <= 6 and back.shape[1:] == (H, W, 3)
    np.testing.assert_array_equal(back[0], blocks[0])
    np.testing.assert_array_equal(back[-1], blocks[1])


def test_mp4_round_trip_is_close(tmp_path, blocks):
    """mp4 (H.264, CRF 18) decodes to 6 frames of 16x24 within a few levels on average."""
    path = str(tmp_path / "v.mp4")
    video_io.write_video(path, blocks, 8, "mp4")
    back = video_io.read_video(path, "mp4")
    assert back.shape == blocks.shape and back.dtype == np.uint8
    # Measured ~3.3 levels; flat 8x8 blocks survive 4:2:0 and CRF 18 well, so 8 levels
    # catches channel swaps, wrong frames or scaling while tolerating encoder builds.
    assert np.abs(back.astype(int) - blocks.astype(int)).mean() < 8
    # Frame order is kept: each decoded frame is closest to its own source frame.
    errors = np.abs(back[:, None].astype(int) - blocks[None].astype(int)).mean(axis=(2, 3, 4))
    np.testing.assert_array_equal(errors.argmin(axis=1), np.arange(T))


@pytest.mark.parametrize("shape", [(T, H, W - 1, 3), (T, H - 1, W, 3)], ids=["odd_width",
                                                                             "odd_height"])
def test_mp4_needs_even_size(tmp_path, shape):
    """H.264 (yuv420p) needs even sizes: odd width or height raises ValueError, no file."""
    with pytest.raises(ValueError, match="even height and width"):
        video_io.write_video(str(tmp_path / "v.mp4"), np.zeros(shape, np.uint8), 8, "mp4")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("video", [
    np.zeros((T, H, W, 3), np.float32),
    np.zeros((H, W, 3), np.uint8),
    np.zeros((1, T, H, W, 3), np.uint8),
    np.zeros((T, H, W, 4), np.uint8),
], ids=["float32", "rank3", "rank5", "rgba"])
@pytest.mark.parametrize("format", video_io.FORMATS)
def test_write_rejects_non_uint8_rgb_video(tmp_path, video, format):
    """Anything but uint8 [T, H, W, 3] raises ValueError and writes nothing."""
    path = str(tmp_path / f"v{video_io.EXTENSIONS[format]}")
    with pytest.raises(ValueError, match=r"uint8 video \[T, H, W, 3\]"):
        video_io.write_video(path, video, 8, format)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("format", video_io.FORMATS)
def test_write_leaves_no_temp_files_and_replaces_atomically(tmp_path, blocks, format):
    """After a write (new or replacing a file) only the target is in the folder."""
    path = str(tmp_path / f"v{video_io.EXTENSIONS[format]}")
    video_io.write_video(path, blocks, 8, format)
    video_io.write_video(path, blocks[::-1].copy(), 8, format)
    assert os.listdir(tmp_path) == [os.path.basename(path)]
    back = video_io.read_video(path, format, num_frames=T)
    assert back.shape == blocks.shape
    if format != "mp4":
        np.testing.assert_array_equal(back, blocks[::-1])


@pytest.mark.parametrize("format", video_io.FORMATS)
def test_failed_write_leaves_neither_target_nor_temp_file(tmp_path, blocks, monkeypatch, format):
    """A failing encoder leaves no temp file and no new target (an old target is untouched)."""
    def broken(path, video, fps, fmt):
        with open(path, "wb") as f:
            f.write(b"half a video")
        raise OSError("encoder crashed (simulated)")

    path = str(tmp_path / f"v{video_io.EXTENSIONS[format]}")
    monkeypatch.setattr(video_io, "_write", broken)
    with pytest.raises(OSError, match="simulated"):
        video_io.write_video(path, blocks, 8, format)
    assert os.listdir(tmp_path) == []

    with open(path, "wb") as f:
        f.write(b"previous file")
    with pytest.raises(OSError, match="simulated"):
        video_io.write_video(path, blocks, 8, format)
    assert os.listdir(tmp_path) == [os.path.basename(path)]
    with open(path, "rb") as f:
        assert f.read() == b"previous file"


def test_unknown_format_raises_value_error(tmp_path, blocks):
    """An unknown format raises ValueError naming it on write (no temp file) and read."""
    with pytest.raises(ValueError, match="unknown format 'avi'"):
        video_io.write_video(str(tmp_path / "v.avi"), blocks, 8, "avi")
    assert os.listdir(tmp_path) == []
    (tmp_path / "x.avi").write_bytes(b"whatever")
    with pytest.raises(ValueError, match="unknown format 'avi'"):
        video_io.read_video(str(tmp_path / "x.avi"), "avi")


@pytest.mark.parametrize("format", video_io.FORMATS)
@pytest.mark.parametrize("damage", ["truncated", "garbage", "missing"])
def test_unreadable_file_raises_os_error(tmp_path, blocks, format, damage):
    """read_video raises OSError (as documented) for truncated, garbage or missing files."""
    path = str(tmp_path / f"v{video_io.EXTENSIONS[format]}")
    video_io.write_video(path, blocks, 8, format)
    if damage == "truncated":
        with open(path, "r+b") as f:
            f.truncate(10)
    elif damage == "garbage":
        with open(path, "wb") as f:
            f.write(os.urandom(64))
    else:
        os.remove(path)
    with pytest.raises(OSError):
        video_io.read_video(path, format, num_frames=T)
