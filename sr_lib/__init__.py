"""sr_lib: a reproducibility companion for arbitrary-scale image super-resolution.

    import sr_lib
    model = sr_lib.make("ipe-liif", backbone="rdn")
    sr_lib.list_models()
"""
from sr_lib.engine.device import get_device
from sr_lib.models.registry import list_backbones, list_models, make, make_backbone, register, register_backbone

__version__ = "0.1.0"


def load_checkpoint(path, map_location="cpu"):
    """Load an official LIIF/MetaSR/LTE ``.pth`` or an sr_lib checkpoint → model (see sr_lib.engine.checkpoint)."""
    from sr_lib.engine.checkpoint import load_checkpoint as _load
    return _load(path, map_location=map_location)


__all__ = ["make", "make_backbone", "list_models", "list_backbones", "register", "register_backbone",
           "get_device", "load_checkpoint"]
