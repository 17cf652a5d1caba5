"""sr_lib: a reproducibility companion for arbitrary-scale image super-resolution.

The flat surface the notebooks use::

    import sr_lib
    sr_lib.list_models()                                        # registered methods
    model = sr_lib.make("ipe-liif", backbone="rdn")             # an untrained model
    model = sr_lib.train("liif", "edsr-baseline", profile="smoke")   # trained, or taken from the run cache
    model = sr_lib.pretrained("liif")                           # the shipped cpu weights (results/cpu/weights/)
    model = sr_lib.load("final.pt")                             # an sr_lib or official LIIF/MetaSR/LTE checkpoint
    sr = sr_lib.super_resolve(model, lr, scale=2.5)             # [B,3,h,w] in [0,1] → [B,3,H,W]
    scores = sr_lib.evaluate(model, image_set, 4.0, "liif")     # PSNR / SSIM under a paper's protocol
    result = sr_lib.repro.run_table(spec, "cpu")                # a printed table regenerated

Every name is imported on first use (module ``__getattr__``), so ``import sr_lib`` loads neither
torch nor pandas nor matplotlib; the subpackages (``models``, ``engine``, ``official``, ``repro``,
``viz``, ``data``, ``metrics``) are reachable as attributes the same way.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

# module → the names it lends to the flat surface; ``load`` is ``load_checkpoint``
_FROM = {
    "sr_lib.models.registry": ("make", "make_backbone", "list_models", "list_backbones", "register",
                               "register_backbone"),
    "sr_lib.engine.checkpoint": ("load_checkpoint", "save_checkpoint"),
    "sr_lib.engine.device": ("get_device",),
    "sr_lib.engine.evaluate": ("evaluate",),
    "sr_lib.engine.inference": ("super_resolve",),
    "sr_lib.engine.train": ("train",),
    "sr_lib.repro.run_cards": ("pretrained",),
}
_ALIASES = {"load": "load_checkpoint"}
_LAZY = {name: (module, name) for module, names in _FROM.items() for name in names}
_LAZY.update({alias: _LAZY[name] for alias, name in _ALIASES.items()})
_SUBPACKAGES = ("data", "engine", "metrics", "models", "official", "repro", "viz")


def __getattr__(name: str):
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module 'sr_lib' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_SUBPACKAGES))


__all__ = list(_LAZY)
