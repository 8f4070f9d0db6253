"""Real photographs that installed packages ship (scikit-image, scikit-learn, matplotlib), with what is in them.

Nothing is downloaded: each photo is a file inside the scikit-image, scikit-learn or matplotlib wheel.  Every
photo carries its licence and credit as its package documents them (NOTICE lists them too; where the
wheel states none, the record says where the licence is stated), and the ImageNet classes that name
what is in it.  ``tests/demo/test_photos.py`` checks each listed
class against EfficientNet-Lite0's top-5 (``load_imagenet_model("efficientnet-lite0")``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Photo", "PHOTOS", "real_photos", "load_photo", "sample_images", "framed_square"]


@dataclass(frozen=True)
class Photo:
    """One bundled photograph.

    Attributes
    ----------
    name : str
        Its key in :data:`PHOTOS` and in :func:`sample_images`.
    source : str
        Where it ships: ``"skimage.data.chelsea"``, ``"sklearn.datasets.load_sample_image('china.jpg')"``,
        ``"matplotlib.cbook.get_sample_data('grace_hopper.jpg')"``.
    package : str
        The distribution that ships it (``scikit-image``, ``scikit-learn`` or ``matplotlib``).
    classes : tuple of int
        ImageNet class indices that name what is in it (empty when no ImageNet class does).
    license : str
        The licence, as the shipping package states it.
    credit : str
        Photographer / owner, as the shipping package states it.
    note : str
        Anything a user should know (e.g. why ``classes`` is empty).
    region : (x0, y0, x1, y1) or None
        The part of the shipped image this entry is (x1, y1 exclusive); None: the whole image.
    frame : (x0, y0, side) or None
        The square of the photo (after ``region``) that frames its object: what
        :func:`framed_square` and the grid pointing game's tiles show; None: the centre square
        (what :func:`sample_images` shows for every photo).
    """

    name: str
    source: str
    package: str
    classes: tuple[int, ...]
    license: str
    credit: str
    note: str = ""
    region: tuple[int, int, int, int] | None = None
    frame: tuple[int, int, int] | None = None

    @property
    def class_names(self) -> tuple[str, ...]:
        from .imagenet import imagenet_labels
        return tuple(imagenet_labels()[i] for i in self.classes)


_SK = "scikit-image"
_CC_BY = "CC BY 2.0 (https://creativecommons.org/licenses/by/2.0/)"
PHOTOS: dict[str, Photo] = {p.name: p for p in (
    Photo("cat", "skimage.data.chelsea", _SK, (282, 285, 281), "CC0 (no copyright restrictions)",
          "Stefan van der Walt", "Chelsea the cat: tiger cat, Egyptian cat, tabby"),
    Photo("coffee", "skimage.data.coffee", _SK, (967, 968), "CC0 (no copyright restrictions)",
          "Rachel Michetti, courtesy of Pikolo Espresso Bar", "an espresso in a cup"),
    Photo("rocket", "skimage.data.rocket", _SK, (657, 744), "public domain (released by SpaceX)",
          "SpaceX: launch of DSCOVR on Falcon 9", "ImageNet has no 'rocket' class: missile and projectile "
          "are its nearest names; its frame is the rocket's upper stage (the centre square is mostly "
          "launch towers)", frame=(240, 80, 180)),
    Photo("motorcycle", "skimage.data.stereo_motorcycle (left image)", _SK, (665, 670),
          "not stated by scikit-image (Middlebury 2014 stereo dataset; cite Scharstein et al., GCPR 2014)",
          "D. Scharstein et al., vision.middlebury.edu/stereo", "ImageNet has no 'motorcycle' class: moped and "
          "motor scooter are its nearest names; licence unstated, so it is not used in the notebooks"),
    Photo("camera", "skimage.data.camera", _SK, (872,), "CC0 (no copyright restrictions)", "Lav Varshney",
          "grayscale (stacked to RGB): a photographer with a camera on a tripod; 'reflex camera' is "
          "outside the top-5 on some crops, so only 'tripod' is listed"),
    Photo("astronaut", "skimage.data.astronaut", _SK, (), "public domain (NASA)", "NASA: Eileen Collins",
          "no ImageNet class names a person: the model's top-5 is other things (football helmet, ...)"),
    Photo("china", "sklearn.datasets.load_sample_image('china.jpg')", "scikit-learn", (698, 442, 663), _CC_BY,
          "danielbuechele (flickr.com/photos/danielbuechele/6061409035)", "a Chinese temple: palace, bell "
          "cote, monastery; its frame is the temple (the centre square is half lake)", frame=(0, 0, 400)),
    Photo("flower", "sklearn.datasets.load_sample_image('flower.jpg')", "scikit-learn", (985,), _CC_BY,
          "vultilion (flickr.com/photos/vultilion/6056698931; scikit-learn's README names danielbuechele "
          "in the attribution line but links vultilion's photo)", "a daisy-like flower"),
    Photo("hopper", "matplotlib.cbook.get_sample_data('grace_hopper.jpg')", "matplotlib", (652, 906),
          "public domain (a U.S. Navy photograph; matplotlib added it as a public-domain image in its pull "
          "request #1599; the wheel states no licence for it)", "U.S. Navy: Commodore Grace M. Hopper",
          "a portrait in uniform: military uniform, Windsor tie (no ImageNet class names a person, so "
          "the classes name her clothes)"),
    Photo("shuttle", "skimage.data.astronaut (the model space shuttle, top right)", _SK, (812,),
          "public domain (NASA)", "NASA", "the model of the space shuttle behind Eileen Collins in "
          "skimage.data.astronaut: the square x 300-512, y 0-212 of that photo", region=(300, 0, 512, 212)),
)}


def real_photos(*, installed_only: bool = True) -> dict[str, Photo]:
    """The catalogue of bundled photos, {name: :class:`Photo`}.

    ``installed_only`` (default) leaves out the photos whose package is not installed
    (scikit-learn's, without scikit-learn; the ``imagenet`` extra installs it).
    """
    if not installed_only:
        return dict(PHOTOS)
    return {k: p for k, p in PHOTOS.items() if _installed(p.package)}


def load_photo(name: str) -> np.ndarray:
    """Photo ``name`` at its full size, as (H, W, 3) uint8 RGB (a grayscale photo is stacked to RGB).

    Raises
    ------
    KeyError
        An unknown name (the message lists the known ones).
    ImportError
        A photo whose package is not installed (the message names it).
    """
    if name not in PHOTOS:
        raise KeyError(f"unknown photo {name!r}; the bundled photos are {sorted(PHOTOS)}")
    photo = PHOTOS[name]
    if not _installed(photo.package):
        raise ImportError(f"photo {name!r} ships with {photo.package}, which is not installed "
                          f"(pip install \"saliency_widgets[imagenet]\" installs it)")
    img = np.asarray(_read(photo))
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    if photo.region is not None:
        x0, y0, x1, y1 = photo.region
        img = img[y0:y1, x0:x1]
    return np.ascontiguousarray(img[..., :3].astype(np.uint8))


def _read(photo: Photo):
    """The shipped image, as its package returns it."""
    if photo.package == "scikit-learn":
        from sklearn.datasets import load_sample_image
        return load_sample_image(photo.source.split("'")[1])
    if photo.package == "matplotlib":
        from matplotlib import cbook
        from PIL import Image
        with Image.open(cbook.get_sample_data(photo.source.split("'")[1], asfileobj=False)) as im:
            return np.asarray(im.convert("RGB"))
    from skimage import data
    img = getattr(data, photo.source.split(" ")[0].split(".")[-1])()
    return img[0] if isinstance(img, tuple) else img  # stereo_motorcycle: (left, right, disparity)


def sample_images(size: int = 224, *, names=None) -> dict[str, np.ndarray]:
    """Real photos, centre-cropped square and resized, as {name: (size, size, 3) uint8}.

    Parameters
    ----------
    size : int
        The side of the square.
    names : iterable of str or None, keyword-only
        Which photos (keys of :data:`PHOTOS`); ``None``: every photo whose package is installed.

    They ship inside scikit-image, scikit-learn and matplotlib, so this works offline.  The crop keeps the whole
    short side (ImageNet's evaluation crop keeps its central 224/256: see
    :class:`~saliency_widgets.demo.imagenet.ImageFit`).
    """
    names = list(real_photos()) if names is None else list(names)
    return {name: _square(load_photo(name), None, size) for name in names}


def framed_square(name: str, size: int) -> np.ndarray:
    """Photo ``name``'s frame (:attr:`Photo.frame`: the square that frames its object; the centre square
    when it has none), resized to ``size`` x ``size``: (size, size, 3) uint8.

    Examples
    --------
    >>> framed_square("rocket", 112).shape
    (112, 112, 3)
    """
    return _square(load_photo(name), PHOTOS[name].frame, size)


def _square(img, frame, size):
    from skimage.transform import resize

    h, w = img.shape[:2]
    if frame is None:
        side = min(h, w)
        x, y = (w - side) // 2, (h - side) // 2
    else:
        x, y, side = frame
        if x < 0 or y < 0 or x + side > w or y + side > h:
            raise ValueError(f"frame {frame} (x0, y0, side) does not fit in a {w} x {h} photo")
    crop = img[y:y + side, x:x + side]
    return (resize(crop, (size, size), anti_aliasing=True) * 255).round().astype(np.uint8)


def _installed(package: str) -> bool:
    import importlib.util
    module = {"scikit-image": "skimage", "scikit-learn": "sklearn", "matplotlib": "matplotlib"}[package]
    return importlib.util.find_spec(module) is not None
