"""Runtime shims that let the *unmodified* official LIIF, LTE and CiaoSR checkouts run on a CPU in
this process (used by ``bench_official.py``). Nothing here is official code and no official file is
edited: the official modules are imported from the user's checkouts, and only the environment
around them is changed.

Shims, and why each is needed:

- ``.cuda()`` → identity (``torch.Tensor.cuda``, ``nn.Module.cuda``): liif/lte call
  ``make_coord(...).cuda()`` inside ``query_rgb`` / ``gen_feat`` and in their test/train loops.
- ``tensorboardX``: imported by liif/lte ``utils.py`` for ``SummaryWriter`` (never used here): a
  no-op stub.
- ``datasets`` (liif/lte): their ``test.py`` / ``train_liif.py`` import it at the top; it needs
  torchvision and is only used by their ``__main__``/data-loader code, which the benchmark
  replaces by tensors it builds. An empty stub module while they are imported.
- ``timm.models.layers`` (lte ``models/swinir.py``, imported by ``models/__init__``), ``torchvision``
  (CiaoSR ``arch_csnln.py`` / ``vgg_arch.py``: VGG, never built here), ``einops`` (imported, unused by
  the CiaoSR decoder) and ``thop`` (a commented-out FLOP count): stubs, only when the real package
  is not installed.
- ``mmcv`` / ``mmedit`` (CiaoSR is an mmedit-0.x project: its ``mmedited/`` tree imports
  ``mmcv.runner``, ``mmcv.cnn``, ``mmedit.models.builder``, ``mmedit.models.base`` ...): stub
  packages in ``sys.modules``. The registries are dict-backed decorators (``Registry``), ``build``
  is mmcv's ``build_from_cfg`` rule (``type`` = a registered name or a class, the rest keyword
  arguments). When an mmediting 0.x checkout is given, the mmedit modules CiaoSR builds on are
  executed from its files under their own module names (``models/registry.py``, ``builder.py``,
  ``base.py``, ``common/sr_backbone_utils.py``, ``common/upsample.py``,
  ``backbones/sr_backbones/edsr.py``, ``losses/utils.py``, ``losses/pixelwise_loss.py``, and
  ``datasets/pipelines/utils.py`` when it has ``make_coord``); without one, small stand-ins are used
  (reported as ``mmedit_source = 'stub'``): the encoder is then sr_lib's mmedit-layout EDSR.
  ``make_coord`` (mmedit's is a port of LIIF's) comes from the liif checkout's ``utils.py`` when
  mmediting's file lacks it. CiaoSR's ``MLPRefiner`` (its copy of mmedit's, whose registration is
  commented out in the released file) is registered as ``'MLPRefiner'``.

The liif and lte repositories both use the top-level names ``models``, ``utils``, ``test`` and
``datasets``; ``import_liif_style`` imports one checkout with those names isolated and then takes
them out of ``sys.modules`` again, so both can live in one process (their functions keep their own
module globals).
"""
from __future__ import annotations

import contextlib
import copy
import importlib
import importlib.machinery
import importlib.util
import logging
import sys
import types
from pathlib import Path

import torch
import torch.nn as nn

_LIIF_TOP = ("models", "utils", "test", "datasets", "train_liif", "train")

APPLIED: list[str] = []          # what was patched or stubbed in this process, in order (for the report)


def _applied(what: str) -> None:
    if what not in APPLIED:
        APPLIED.append(what)


# ----------------------------------------------------------------------------------------- basics
def _identity_cuda(self, *args, **kwargs):
    return self


def patch_cuda() -> None:
    """``Tensor.cuda`` and ``Module.cuda`` return ``self`` (CPU runs of the official code)."""
    torch.Tensor.cuda = _identity_cuda
    nn.Module.cuda = _identity_cuda
    _applied("torch.Tensor.cuda / nn.Module.cuda -> identity")


def stub_module(name: str, package: bool = False, **attrs) -> types.ModuleType:
    """A module ``name`` in ``sys.modules`` (attached to its parent package) with ``attrs``."""
    mod = types.ModuleType(name)
    mod.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=package)
    mod.__file__ = f"<stub {name}>"
    if package:
        mod.__path__ = []
    mod.__dict__.update(attrs)
    sys.modules[name] = mod
    parent, _, child = name.rpartition(".")
    if parent and parent in sys.modules:
        setattr(sys.modules[parent], child, mod)
    return mod


def stub_packages(name: str) -> None:
    """Stub packages for ``name`` and each of its parents that is not already imported."""
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        sub = ".".join(parts[:i])
        if sub not in sys.modules:
            stub_module(sub, package=True)


def exec_file_as(name: str, path: Path) -> types.ModuleType:
    """Execute the file ``path`` as module ``name`` (its parent package must be in ``sys.modules``;
    relative imports resolve against it)."""
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    parent, _, child = name.rpartition(".")
    if parent in sys.modules:
        setattr(sys.modules[parent], child, mod)
    return mod


def _missing(what: str):
    def fn(*args, **kwargs):
        raise NotImplementedError(f"{what} is stubbed by benchmarks/official_shims.py")
    fn.__name__ = what.rsplit(".", 1)[-1]
    return fn


def _installed(name: str) -> bool:
    if name in sys.modules:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


class _NoOp:
    """Accepts any constructor arguments; every method is a no-op (``SummaryWriter``)."""

    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        return lambda *a, **k: None


def install_common_stubs() -> list[str]:
    """tensorboardX always; timm / torchvision / einops / thop only when not installed. Returns the
    names stubbed."""
    done = []
    if "tensorboardX" not in sys.modules or not getattr(sys.modules["tensorboardX"], "_sr_stub", False):
        stub_module("tensorboardX", package=True, SummaryWriter=_NoOp, _sr_stub=True)
        done.append("tensorboardX")
    if not _installed("timm"):
        def to_2tuple(x):
            return tuple(x) if isinstance(x, (tuple, list)) else (x, x)

        from sr_lib.models.encoders.swinir import DropPath      # stochastic depth, timm's semantics

        def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
            return nn.init.trunc_normal_(tensor, mean, std, a, b)

        stub_packages("timm.models")
        stub_module("timm.models.layers", DropPath=DropPath, to_2tuple=to_2tuple, trunc_normal_=trunc_normal_)
        done.append("timm")
    if not _installed("torchvision"):
        stub_packages("torchvision.models")
        stub_module("torchvision.models.vgg", vgg19=_missing("torchvision.models.vgg.vgg19"),
                    vgg16=_missing("torchvision.models.vgg.vgg16"))
        stub_module("torchvision.transforms", __getattr__=lambda n: _missing(f"torchvision.transforms.{n}"))
        done.append("torchvision")
    if not _installed("einops"):
        stub_module("einops", repeat=_missing("einops.repeat"), rearrange=_missing("einops.rearrange"))
        done.append("einops")
    if not _installed("thop"):
        stub_module("thop", profile=_missing("thop.profile"))
        done.append("thop")
    for name in done:
        _applied(f"stub module: {name}")
    return done


# ------------------------------------------------------------------------------ liif / lte repos
def _owned(name: str) -> bool:
    return name.split(".")[0] in _LIIF_TOP


@contextlib.contextmanager
def isolated_top_level(root: Path):
    """``root`` first on ``sys.path`` and the names ``models``, ``utils``, ``test``, ``datasets``,
    ``train_liif``, ``train`` free while the block runs; the previous modules are put back after."""
    saved = {k: sys.modules.pop(k) for k in list(sys.modules) if _owned(k)}
    sys.path.insert(0, str(root))
    try:
        yield
    finally:
        for k in [k for k in sys.modules if _owned(k)]:
            sys.modules.pop(k)
        sys.modules.update(saved)
        sys.path.remove(str(root))


def import_liif_style(root: Path, extra: tuple = ()) -> types.SimpleNamespace:
    """Import ``models``, ``utils`` and ``test`` (and the modules in ``extra``, e.g. ``'train_liif'``)
    of a liif / lte checkout; ``datasets`` is an empty stub while they load."""
    root = Path(root)
    if not (root / "models" / "__init__.py").exists():
        raise FileNotFoundError(f"{root} is not a liif/lte checkout (no models/__init__.py)")
    install_common_stubs()
    with isolated_top_level(root):
        stub_module("datasets", package=True, make=_missing("datasets.make"),
                    register=lambda name: (lambda cls: cls))
        ns = types.SimpleNamespace(root=root, models=importlib.import_module("models"),
                                   utils=importlib.import_module("utils"), test=importlib.import_module("test"))
        for name in extra:
            setattr(ns, name, importlib.import_module(name))
    _applied(f"{root.name}: top-level models/utils/test isolated; 'datasets' an empty stub while importing")
    return ns


# ----------------------------------------------------------------------------------- mmcv / mmedit
class Registry:
    """mmcv's ``Registry`` reduced to a dict: ``@REG.register_module()`` / ``REG.register_module(name=,
    module=)``, ``REG.get(name)``."""

    def __init__(self, name: str):
        self._name = name
        self._module_dict: dict[str, type] = {}

    @property
    def name(self):
        return self._name

    @property
    def module_dict(self):
        return self._module_dict

    def get(self, key):
        return self._module_dict.get(key)

    def __contains__(self, key):
        return key in self._module_dict

    def __len__(self):
        return len(self._module_dict)

    def _register(self, cls, name=None, force=False):
        key = name or cls.__name__
        if not force and key in self._module_dict:
            raise KeyError(f"{key} is already registered in {self._name}")
        self._module_dict[key] = cls
        return cls

    def register_module(self, name=None, force=False, module=None):
        if module is not None:
            return self._register(module, name, force)
        if isinstance(name, type):                     # old style: @REG.register_module
            return self._register(name, None, force)
        return lambda cls: self._register(cls, name, force)


def build_from_cfg(cfg, registry, default_args=None):
    """mmcv's rule: ``cfg['type']`` is a registered name or a class; the other keys (then
    ``default_args`` where missing) are its keyword arguments."""
    if not isinstance(cfg, dict) or "type" not in cfg:
        raise TypeError(f"cfg must be a dict with a 'type' key, got {cfg!r}")
    args = dict(cfg)
    obj_type = args.pop("type")
    if isinstance(obj_type, str):
        obj_cls = registry.get(obj_type)
        if obj_cls is None:
            raise KeyError(f"{obj_type} is not in the {registry.name} registry "
                           f"(known: {sorted(registry.module_dict)})")
    elif isinstance(obj_type, type):
        obj_cls = obj_type
    else:
        raise TypeError(f"type must be a str or a class, got {type(obj_type)}")
    for k, v in (default_args or {}).items():
        args.setdefault(k, v)
    return obj_cls(**args)


class ConfigDict(dict):
    """A dict with attribute access (mmcv ``ConfigDict``: ``test_cfg.crop_border``)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _constant_init(module, val, bias=0):
    if getattr(module, "weight", None) is not None:
        nn.init.constant_(module.weight, val)
    if getattr(module, "bias", None) is not None:
        nn.init.constant_(module.bias, bias)


def _kaiming_init(module, a=0, mode="fan_out", nonlinearity="relu", bias=0, distribution="normal"):
    if getattr(module, "weight", None) is not None:
        init = nn.init.kaiming_uniform_ if distribution == "uniform" else nn.init.kaiming_normal_
        init(module.weight, a=a, mode=mode, nonlinearity=nonlinearity)
    if getattr(module, "bias", None) is not None:
        nn.init.constant_(module.bias, bias)


def _auto_fp16(apply_to=None, out_fp32=False):
    return lambda fn: fn


def _install_mmcv() -> None:
    stub_module("mmcv", package=True, build_from_cfg=build_from_cfg, Config=None, ConfigDict=ConfigDict,
                imwrite=_missing("mmcv.imwrite"), _sr_stub=True)
    stub_module("mmcv.utils", package=True, Registry=Registry, build_from_cfg=build_from_cfg,
                print_log=lambda msg, logger=None, level=logging.INFO: logging.getLogger("mmcv").log(level, msg))
    stub_module("mmcv.utils.parrots_wrapper", _BatchNorm=nn.modules.batchnorm._BatchNorm,
                _InstanceNorm=nn.modules.instancenorm._InstanceNorm)
    stub_module("mmcv.runner", load_checkpoint=_missing("mmcv.runner.load_checkpoint"), auto_fp16=_auto_fp16)
    stub_module("mmcv.cnn", constant_init=_constant_init, kaiming_init=_kaiming_init)


class _StubBaseModel(nn.Module):
    """mmedit ``BaseModel`` stand-in (no mmediting checkout): ``parse_losses`` as mmedit's."""

    def init_weights(self):
        pass

    def parse_losses(self, losses):
        from collections import OrderedDict
        log_vars = OrderedDict((k, v.mean() if torch.is_tensor(v) else sum(x.mean() for x in v))
                               for k, v in losses.items())
        loss = sum(v for k, v in log_vars.items() if "loss" in k)
        log_vars["loss"] = loss
        return loss, OrderedDict((k, v.item()) for k, v in log_vars.items())


class _StubL1Loss(nn.Module):
    """mmedit ``L1Loss`` stand-in (no mmediting checkout): ``loss_weight · mean |pred − target|``."""

    def __init__(self, loss_weight=1.0, reduction="mean", sample_wise=False):
        super().__init__()
        if reduction != "mean":
            raise NotImplementedError("the stub L1Loss implements reduction='mean' only")
        self.loss_weight = loss_weight

    def forward(self, pred, target, weight=None, **kwargs):
        if weight is not None:
            raise NotImplementedError("the stub L1Loss takes no weight")
        return self.loss_weight * torch.nn.functional.l1_loss(pred, target)


def _stub_edsr():
    """EDSR (mmedit layout) stand-in without an mmediting checkout: sr_lib's mmedit-layout EDSR, with
    the mmedit constructor signature (the upsampler is dropped by CiaoSR anyway)."""
    from sr_lib.models.encoders.mmedit import MMEditEDSR

    class EDSR(MMEditEDSR):
        def __init__(self, in_channels, out_channels, mid_channels=64, num_blocks=16, upscale_factor=4,
                     res_scale=1, rgb_mean=(0.4488, 0.4371, 0.4040), rgb_std=(1.0, 1.0, 1.0)):
            super().__init__(in_channels=in_channels, mid_channels=mid_channels, num_blocks=num_blocks,
                             res_scale=res_scale)

        def init_weights(self, pretrained=None, strict=True):
            pass
    return EDSR


def install_mmedit(make_coord, mmediting_root: Path | None = None) -> str:
    """Stub ``mmcv`` and build the ``mmedit`` modules CiaoSR imports (module docstring). Returns
    ``'mmediting <root>'`` or ``'stub'``: where the mmedit code came from."""
    _install_mmcv()
    stub_module("mmedit", package=True, _sr_stub=True)
    stub_module("mmedit.utils", get_root_logger=lambda log_file=None, log_level=logging.INFO:
                logging.getLogger("mmedit"))
    stub_module("mmedit.core", package=True, tensor2img=_missing("mmedit.core.tensor2img"),
                psnr=_missing("mmedit.core.psnr"), ssim=_missing("mmedit.core.ssim"))
    stub_packages("mmedit.datasets.pipelines")
    stub_packages("mmedit.models.common")
    stub_packages("mmedit.models.losses")
    stub_packages("mmedit.models.backbones.sr_backbones")
    root = Path(mmediting_root) / "mmedit" if mmediting_root else None
    if root is not None and (root / "models" / "backbones" / "sr_backbones" / "edsr.py").exists():
        m = root / "models"
        registry = exec_file_as("mmedit.models.registry", m / "registry.py")
        builder = exec_file_as("mmedit.models.builder", m / "builder.py")
        base = exec_file_as("mmedit.models.base", m / "base.py")
        common = sys.modules["mmedit.models.common"]
        sbu = exec_file_as("mmedit.models.common.sr_backbone_utils", m / "common" / "sr_backbone_utils.py")
        ups = exec_file_as("mmedit.models.common.upsample", m / "common" / "upsample.py")
        for k in ("ResidualBlockNoBN", "default_init_weights", "make_layer"):
            setattr(common, k, getattr(sbu, k))
        common.PixelShufflePack = ups.PixelShufflePack
        exec_file_as("mmedit.models.backbones.sr_backbones.edsr", m / "backbones" / "sr_backbones" / "edsr.py")
        exec_file_as("mmedit.models.losses.utils", m / "losses" / "utils.py")
        exec_file_as("mmedit.models.losses.pixelwise_loss", m / "losses" / "pixelwise_loss.py")
        source = "mmediting checkout"
        pipe_utils = root / "datasets" / "pipelines" / "utils.py"
        mc = None
        if pipe_utils.exists():
            try:
                pu = exec_file_as("mmedit.datasets.pipelines.utils", pipe_utils)
                mc = getattr(pu, "make_coord", None)
            except Exception:           # old numpy aliases etc.: only make_coord is wanted from it
                sys.modules.pop("mmedit.datasets.pipelines.utils", None)
        if mc is None:
            mod = sys.modules.get("mmedit.datasets.pipelines.utils") or stub_module("mmedit.datasets.pipelines.utils")
            mod.make_coord = make_coord
            source += " (make_coord from liif utils.py)"
    else:
        registry = stub_module("mmedit.models.registry", MODELS=Registry("model"), BACKBONES=Registry("backbone"),
                               COMPONENTS=Registry("component"), LOSSES=Registry("loss"))

        def build(cfg, reg, default_args=None):
            if isinstance(cfg, list):
                return nn.Sequential(*[build_from_cfg(c, reg, default_args) for c in cfg])
            return build_from_cfg(cfg, reg, default_args)

        builder = stub_module(
            "mmedit.models.builder", build=build,
            build_backbone=lambda cfg: build(cfg, registry.BACKBONES),
            build_component=lambda cfg: build(cfg, registry.COMPONENTS),
            build_loss=lambda cfg: build(cfg, registry.LOSSES),
            build_model=lambda cfg, train_cfg=None, test_cfg=None:
                build(cfg, registry.MODELS, dict(train_cfg=train_cfg, test_cfg=test_cfg)))
        base = stub_module("mmedit.models.base", BaseModel=_StubBaseModel)
        registry.BACKBONES.register_module(name="EDSR", module=_stub_edsr())
        registry.LOSSES.register_module(name="L1Loss", module=_StubL1Loss)
        stub_module("mmedit.datasets.pipelines.utils", make_coord=make_coord)
        source = "stub"
    models = sys.modules["mmedit.models"]
    for k in ("BACKBONES", "COMPONENTS", "LOSSES", "MODELS"):
        setattr(models, k, getattr(registry, k))
    for k in ("build", "build_backbone", "build_component", "build_loss", "build_model"):
        setattr(models, k, getattr(builder, k))
    models.BaseModel = base.BaseModel
    return source


def import_ciaosr(root: Path, make_coord, mmediting_root: Path | None = None) -> types.SimpleNamespace:
    """Import CiaoSR's ``mmedited`` generator and restorer from the checkout ``root`` (on
    ``sys.path``; its folders are namespace packages) over the mmcv/mmedit shims."""
    root = Path(root)
    net_file = root / "mmedited" / "models" / "backbones" / "sr_backbones" / "ciaosr_net.py"
    if not net_file.exists():
        raise FileNotFoundError(f"{root} is not a CiaoSR checkout (no {net_file.relative_to(root)})")
    install_common_stubs()
    source = install_mmedit(make_coord, mmediting_root)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    net = importlib.import_module("mmedited.models.backbones.sr_backbones.ciaosr_net")
    restorer = importlib.import_module("mmedited.models.restorers.ciaosr")
    refiner = importlib.import_module("mmedited.models.components.refiners.mlp_refiner")
    comps = sys.modules["mmedit.models.registry"].COMPONENTS
    if "MLPRefiner" not in comps:
        comps.register_module(name="MLPRefiner", module=refiner.MLPRefiner)
    _applied(f"mmcv stub (Registry, build_from_cfg, runner, cnn); mmedit from {source}; "
             f"CiaoSR MLPRefiner registered as 'MLPRefiner'")
    return types.SimpleNamespace(root=root, net=net, restorer=restorer, refiner=refiner, mmedit_source=source,
                                 builder=sys.modules["mmedit.models.builder"])


def load_mmedit_config(path: Path) -> tuple[dict, str]:
    """Execute an mmedit config file (as ``mmcv.Config.fromfile`` does) → (its top-level names, a note).

    The released CiaoSR configs do not parse (``data = dict(`` is never closed, SyntaxError); then the
    text before the line ``data = dict(`` (model, train/test cfg) and the ``optimizers = ...`` line are
    executed, verbatim, and the note says so."""
    text = Path(path).read_text()
    ns: dict = {"__file__": str(path), "__name__": "__mmedit_config__"}
    try:
        exec(compile(text, str(path), "exec"), ns)
        note = ""
    except SyntaxError as e:
        lines = text.splitlines(keepends=True)
        cut = next((i for i, l in enumerate(lines) if l.startswith("data = dict(")), None)
        if cut is None:
            raise
        ns = {"__file__": str(path), "__name__": "__mmedit_config__"}
        exec(compile("".join(lines[:cut]), str(path), "exec"), ns)
        for l in lines[cut:]:
            if l.startswith("optimizers = "):
                exec(compile(l, str(path), "exec"), ns)
        note = (f"{Path(path).name} does not parse ({e.msg}, line {e.lineno}); executed its lines "
                f"1-{cut} and its 'optimizers = ...' line")
    return {k: v for k, v in ns.items() if not k.startswith("__") and not isinstance(v, types.ModuleType)}, note


def deepcopy_cfg(cfg):
    """A deep copy of a config whose ``type`` values may be classes (kept by reference)."""
    return copy.deepcopy(cfg)


__all__ = ["APPLIED", "patch_cuda", "install_common_stubs", "import_liif_style", "import_ciaosr", "install_mmedit",
           "load_mmedit_config", "Registry", "build_from_cfg", "ConfigDict", "stub_module", "exec_file_as"]
