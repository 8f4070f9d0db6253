"""Offline demo material: synthetic scenes with ground truth, a trained model, real photos.

Nothing here downloads anything at run time.
"""
from .imagenet import imagenet_labels, imagenet_model_names, load_imagenet_model
from .model import CLASS_NAMES, IMAGE_SIZE, load_model
from .photos import PHOTOS, Photo, framed_square, load_photo, real_photos, sample_images
from .scenes import SceneObject, Scenes, make_scenes

__all__ = ["CLASS_NAMES", "IMAGE_SIZE", "SceneObject", "Scenes", "make_scenes", "load_model",
           "sample_images", "imagenet_labels", "load_imagenet_model", "imagenet_model_names", "Photo", "PHOTOS",
           "real_photos", "load_photo", "framed_square"]
