"""Thumbnails of image attachments, made once with Pillow (decompression-bomb limit on) and cached on disk
under the file's sha256, so the same scan uploaded twice is shrunk once."""
from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

from PIL import Image, ImageOps

from services import filecheck

SIZE = (240, 240)
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}


def cache_path(upload_dir: str, sha256: str) -> Path:
    """Where the thumbnail of a file with this hash is kept."""
    return Path(upload_dir) / "thumbs" / sha256[:2] / f"{sha256}.jpg"


def thumbnail(upload_dir: str, sha256: str, source: Path) -> Path | None:
    """The cached JPEG thumbnail of an image, made when first asked for; None when it cannot be made."""
    target = cache_path(upload_dir, sha256)
    if target.is_file():
        return target
    Image.MAX_IMAGE_PIXELS = filecheck.MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                image.draft("RGB", SIZE)
                small = ImageOps.exif_transpose(image)
                small.thumbnail(SIZE)
                if small.mode not in ("RGB", "L"):
                    background = Image.new("RGB", small.size, "white")
                    rgba = small.convert("RGBA")
                    background.paste(rgba, mask=rgba.getchannel("A"))
                    small = background
                target.parent.mkdir(parents=True, exist_ok=True)
                with tempfile.NamedTemporaryFile(dir=target.parent, prefix=filecheck.TEMP_PREFIX, suffix=".jpg",
                                                 delete=False) as temp:
                    small.save(temp, "JPEG", quality=80)
                os.replace(temp.name, target)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        return None
    return target
