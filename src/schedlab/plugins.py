"""Loading user code (policies) into schedlab by module name or file path."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from schedlab.errors import ConfigError


def load_plugin(target: str) -> ModuleType:
    """Import ``target``, a Python file (``my_policies.py``) or an importable module name.

    Importing it runs its ``@register`` decorators, which makes its policies available by name.
    """
    try:
        if target.endswith(".py"):
            path = Path(target)
            if not path.is_file():
                raise ConfigError(f"plugin file not found: {target}")
            name = f"schedlab_plugin_{path.resolve()}"
            if name in sys.modules:  # loaded already: its policies are registered
                return sys.modules[name]
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise ConfigError(f"cannot load plugin file {target}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            return module
        return importlib.import_module(target)
    except ConfigError:
        raise
    except Exception as err:  # any failure inside user code is reported, not a traceback
        raise ConfigError(f"plugin {target} failed to load: {type(err).__name__}: {err}") from err
