"""Model zoo: pure ``nn.Module``s. Every module below this package (methods here, backbones in
``encoders/``, building blocks in ``layers/``) is imported so its ``@register`` decorators run."""
import importlib
import pkgutil

for _m in pkgutil.walk_packages(__path__, prefix=f"{__name__}."):
    importlib.import_module(_m.name)
