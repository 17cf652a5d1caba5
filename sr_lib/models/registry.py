"""One registry for the whole zoo: backbones and methods.

    sr_lib.make("ipe-liif", backbone="rdn")      # a method on a backbone
    sr_lib.make_backbone("edsr-baseline", n_resblocks=4)

A builder is a function registered under a name. It receives keyword options
and returns an ``nn.Module``. ``make`` records the call as ``model.spec =
{"name": ..., "args": {...}}`` so a checkpoint carries what is needed to
rebuild the model without any config file (LIIF's "self-describing
checkpoint").
"""
from __future__ import annotations

import copy
import inspect
import math
import threading
from typing import Callable

import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode

_METHODS: dict[str, Callable[..., nn.Module]] = {}
_BACKBONES: dict[str, Callable[..., nn.Module]] = {}


def _register(table: dict, kind: str, name: str):
    def deco(fn):
        if name in table:
            raise KeyError(f"{kind} {name!r} is registered twice")
        table[name] = fn
        return fn
    return deco


def register(name: str):
    """Decorator: register a method builder ``fn(backbone=..., **options) -> nn.Module``."""
    return _register(_METHODS, "method", name)


def register_backbone(name: str):
    """Decorator: register a backbone builder ``fn(**options) -> nn.Module`` (features out, no upsampling)."""
    return _register(_BACKBONES, "backbone", name)


def _lookup(table: dict, kind: str, name: str):
    _ensure_loaded()
    try:
        return table[name]
    except KeyError:
        raise KeyError(f"unknown {kind} {name!r}; known: {', '.join(sorted(table))}") from None


def make(name: str, **options) -> nn.Module:
    """Build the method ``name`` (e.g. ``make("liif", backbone="rdn")``)."""
    model = _lookup(_METHODS, "method", name)(**copy.deepcopy(options))
    model.spec = {"name": name, "args": copy.deepcopy(options)}
    return model


def make_backbone(name: str, **options) -> nn.Module:
    """Build the backbone ``name``: an LR image in, a feature map at LR resolution out."""
    return _lookup(_BACKBONES, "backbone", name)(**copy.deepcopy(options))


# ----------------------------------------------------------------------------------------------
# model arguments from an untrusted source (a checkpoint file, the command line): check, then bound
# ----------------------------------------------------------------------------------------------
MAX_ELEMENTS = 500_000_000     # parameters + buffers of a model built from untrusted arguments (≈ 2 GB float32)
MAX_MODULES = 10_000            # submodules (the largest paper-size model has 712)
MAX_INT_OPTION = 1 << 16        # no size option (channels, blocks, window, frequencies) is legitimately larger
MAX_OPTION_ITEMS = 4096         # entries of a list option (hidden widths, depths)
MAX_OPTION_NESTING = 16         # levels of dicts / lists in options (official specs nest 4)


class ModelArgsError(ValueError):
    """Model arguments that do not fit the builder or would build a model over the limits (one line)."""


def nesting_depth(obj, limit: int = MAX_OPTION_NESTING) -> int:
    """How many levels of dicts / lists / tuples ``obj`` nests, counted without recursion (a value
    nested 100,000 deep would overflow the stack of any recursive walk: deepcopy, hashing, checks);
    stops counting once past ``limit``."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        o, depth = stack.pop()
        if isinstance(o, dict):
            children = [*o.keys(), *o.values()]
        elif isinstance(o, (list, tuple)):
            children = o
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        stack.extend((c, depth + 1) for c in children)
    return deepest


def check_option_values(args, where: str = "args", _depth: int = 0) -> None:
    """Refuse values no model option takes: anything but str / bool / int / float / None and lists,
    tuples or dicts of them (nested at most ``MAX_OPTION_NESTING`` levels); negative or huge ints
    (> ``MAX_INT_OPTION``); non-finite floats."""
    if isinstance(args, (dict, list, tuple)) and _depth >= MAX_OPTION_NESTING:
        raise ModelArgsError(f"{where} nests more than {MAX_OPTION_NESTING} levels of lists / dicts")
    if isinstance(args, dict):
        for k, v in args.items():
            if not isinstance(k, str):
                raise ModelArgsError(f"{where}: option names must be strings, got {k!r}")
            check_option_values(v, f"{where}.{k}", _depth + 1)
    elif isinstance(args, (list, tuple)):
        if len(args) > MAX_OPTION_ITEMS:
            raise ModelArgsError(f"{where} has {len(args)} entries (at most {MAX_OPTION_ITEMS})")
        for i, v in enumerate(args):
            check_option_values(v, f"{where}[{i}]", _depth + 1)
    elif isinstance(args, bool) or args is None or isinstance(args, str):
        if isinstance(args, str) and len(args) > 1000:
            raise ModelArgsError(f"{where} is a string of {len(args)} characters")
    elif isinstance(args, int):
        if args < 0:
            raise ModelArgsError(f"{where} = {args} is negative; sizes and counts must be >= 0")
        if args > MAX_INT_OPTION:
            raise ModelArgsError(f"{where} = {args} is larger than any model option ({MAX_INT_OPTION})")
    elif isinstance(args, float):
        if not math.isfinite(args):
            raise ModelArgsError(f"{where} = {args} is not a finite number")
    else:
        raise ModelArgsError(f"{where} is a {type(args).__name__}; model options are numbers, strings, "
                             "booleans and lists of them")


def _kind_ok(default, value) -> bool:
    """``value`` has the kind of the builder's ``default`` (bool / number / string / sequence)."""
    if default is None or default is inspect.Parameter.empty or value is None:
        return True
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, str):
        return isinstance(value, str)
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return True


def check_signature(fn: Callable, args: dict, what: str) -> None:
    """``args`` name parameters of ``fn`` (unless it takes ``**options``) with values of the kind of
    their defaults; a one-line ``ModelArgsError`` otherwise."""
    params = inspect.signature(fn).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    named = {k: p for k, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    unknown = [k for k in args if k not in named]
    if unknown and not takes_any:
        raise ModelArgsError(f"{what} has no option {', '.join(map(repr, unknown))}; "
                             f"its options: {', '.join(named) or 'none'}")
    for k, v in args.items():
        if k in named and not _kind_ok(named[k].default, v):
            raise ModelArgsError(f"{what} option {k}={v!r} should be like its default {named[k].default!r}")


class _MetaFactories(TorchFunctionMode):
    """Tensor factories without an explicit device make ``meta`` tensors (no memory); short
    ``linspace`` (drop-path rates read back with ``tolist``) stays on the CPU."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func in _factories() and kwargs.get("device") is None:
            small = func is torch.linspace and len(args) >= 3 and isinstance(args[2], int) and args[2] <= 4096
            if not small:
                kwargs["device"] = "meta"
        return func(*args, **kwargs)


def _factories():
    global _FACTORIES
    if _FACTORIES is None:
        names = ("empty", "empty_strided", "empty_permuted", "zeros", "ones", "full", "rand", "randn",
                 "randint", "randperm", "arange", "range", "linspace", "logspace", "eye", "tensor",
                 "as_tensor", "scalar_tensor", "normal", "zeros_like", "ones_like", "empty_like",
                 "full_like", "rand_like", "randn_like")
        _FACTORIES = {getattr(torch, n) for n in names if hasattr(torch, n)}
    return _FACTORIES


_FACTORIES = None
_COUNTING = threading.local()


class _TooLarge(Exception):
    pass


def _count(module, name, value) -> None:
    state = getattr(_COUNTING, "state", None)
    if state is None or value is None:
        return
    if isinstance(value, nn.Module):
        state["modules"] += 1
        if state["modules"] > MAX_MODULES:
            raise _TooLarge(f"more than {MAX_MODULES:,} layers (limit {MAX_MODULES:,})")
        return
    n = value.numel()
    if n == 0 and isinstance(value, nn.Parameter):
        raise _TooLarge(f"an empty layer ({type(module).__name__}.{name} of shape {tuple(value.shape)}): "
                        "a size option is 0")
    state["elements"] += n
    if state["elements"] > state["limit"]:
        raise _TooLarge(f"more than {state['limit']:,} parameters (the limit)")


def count_elements(build: Callable[[], nn.Module], what: str, max_elements: int = MAX_ELEMENTS) -> int:
    """Parameters + buffers of the model ``build()`` makes, counted on the ``meta`` device (nothing
    is allocated); building stops as soon as it passes ``max_elements`` or ``MAX_MODULES``. Any
    failure is a one-line ``ModelArgsError`` naming ``what``."""
    from torch.nn.modules import module as M
    if getattr(_COUNTING, "state", None) is not None:
        raise RuntimeError("count_elements is not re-entrant")
    _COUNTING.state = {"modules": 0, "elements": 0, "limit": int(max_elements)}
    hooks = [M.register_module_parameter_registration_hook(_count),
             M.register_module_buffer_registration_hook(_count),
             M.register_module_module_registration_hook(_count)]
    try:
        with _MetaFactories():
            model = build()
        n = sum(t.numel() for t in model.parameters()) + sum(t.numel() for t in model.buffers())
    except _TooLarge as e:
        raise ModelArgsError(f"{what} would have {e}; refused before allocating anything") from None
    except RecursionError:
        raise ModelArgsError(f"{what} cannot be built from these options (too deeply nested)") from None
    except Exception as e:          # TypeError (unknown keyword), ValueError (bad preset), RuntimeError (bad shape)
        first = (str(e).strip().splitlines() or [""])[0][:300]
        raise ModelArgsError(f"{what} cannot be built from these options: {type(e).__name__}: {first}") from None
    finally:
        for h in hooks:
            h.remove()
        _COUNTING.state = None
    if n > max_elements:
        raise ModelArgsError(f"{what} would have {n:,} parameters (limit {max_elements:,}); refused")
    return n


def check_model_args(name, args, *, max_elements: int = MAX_ELEMENTS, what: str | None = None) -> int:
    """Check untrusted ``make(name, **args)`` arguments without allocating: ``name`` registered,
    option names and kinds against the builder's signature, values (``check_option_values``), then
    the size counted on the ``meta`` device (``count_elements``). Returns the parameter + buffer count."""
    what = what or f"model {name!r}"
    if not isinstance(name, str):
        raise ModelArgsError(f"{what}: the model name must be a string, got {type(name).__name__}")
    if not isinstance(args, dict):
        raise ModelArgsError(f"{what}: the model options must be a dict, got {type(args).__name__}")
    _ensure_loaded()
    if name not in _METHODS:
        raise ModelArgsError(f"{what}: no registered model {name!r}; known: {', '.join(sorted(_METHODS))}")
    check_option_values(args, "options")
    builder = _METHODS[name]
    check_signature(builder, args, f"model {name!r}")
    backbone = args.get("backbone", inspect.signature(builder).parameters.get("backbone"))
    if isinstance(backbone, inspect.Parameter):
        backbone = backbone.default
    if isinstance(backbone, str) and backbone in _BACKBONES:
        own = set(inspect.signature(builder).parameters)
        rest = {k: v for k, v in args.items() if k not in own}
        bb = _BACKBONES[backbone]
        bb_params = inspect.signature(bb).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in bb_params.values()) and name != "ciaosr":
            # (CiaoSR also accepts the mmedit names of the EDSR/RDN sizes: its builder checks them)
            unknown = [k for k in rest if k not in bb_params]
            if unknown:
                mine = [k for k, p in inspect.signature(builder).parameters.items() if p.kind is not p.VAR_KEYWORD]
                raise ModelArgsError(f"{what}: no option {', '.join(map(repr, unknown))}; {name} takes "
                                     f"{', '.join(mine)} and backbone {backbone!r} takes {', '.join(bb_params) or 'none'}")
            check_signature(bb, rest, f"{what} on backbone {backbone!r}")
    elif isinstance(backbone, str):
        raise ModelArgsError(f"{what}: no registered backbone {backbone!r}; known: {', '.join(sorted(_BACKBONES))}")
    return count_elements(lambda: builder(**copy.deepcopy(args)), what, max_elements)


def list_models() -> list[str]:
    """Names of all registered methods."""
    _ensure_loaded()
    return sorted(_METHODS)


def list_backbones() -> list[str]:
    _ensure_loaded()
    return sorted(_BACKBONES)


def _ensure_loaded():
    # Importing the package runs every model module's @register decorators.
    import sr_lib.models  # noqa: F401
