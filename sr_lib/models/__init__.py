"""Model zoo. Every module in this package is imported so its ``@register``
decorators run (one file per model or component)."""
import importlib
import pkgutil

for _m in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_m.name}")
