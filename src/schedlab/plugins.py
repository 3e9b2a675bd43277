"""Loading user code (policies) into schedlab by module name or file path.

Every plugin loaded is remembered with its source, so that worker processes (local or on
Ray) load the very same code, and results record its digest (:mod:`schedlab.provenance`).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from schedlab.errors import ConfigError


@dataclass(frozen=True)
class Plugin:
    """A loaded plugin: what was asked for, its module name and its source text."""

    target: str
    module: str
    source: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.source.encode()).hexdigest()


_LOADED: dict[str, Plugin] = {}


def loaded() -> list[Plugin]:
    """The plugins loaded in this process, in load order."""
    return list(_LOADED.values())


def digests() -> dict[str, str]:
    """``{target: SHA-256 of its source}`` of every plugin loaded."""
    return {p.target: p.sha256 for p in _LOADED.values()}


def load_plugin(target: str) -> ModuleType:
    """Import ``target``, a Python file (``my_policies.py``) or an importable module name.

    Importing it runs its ``@register`` decorators, which makes its policies available by name.
    """
    try:
        if target.endswith(".py"):
            path = Path(target)
            if not path.is_file():
                raise ConfigError(f"plugin file not found: {target}")
            try:
                source = path.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as err:
                raise ConfigError(f"plugin {target}: cannot read it ({err})") from None
            return _exec(Plugin(target, f"schedlab_plugin_{path.resolve()}", source), str(path.resolve()))
        module = importlib.import_module(target)
        file = getattr(module, "__file__", None)
        source = Path(file).read_text(encoding="utf-8", errors="replace") if file else target
        _LOADED.setdefault(target, Plugin(target, target, source))
        return module
    except ConfigError:
        raise
    except (Exception, SystemExit) as err:  # any failure inside user code (an exit too): one line
        raise ConfigError(f"plugin {target} failed to load: {_why(err)}") from err


def load_shipped(plugins: list[Plugin]) -> None:
    """Load plugins in a worker process from the sources the parent shipped (the worker may
    run on another machine); a failure is a :class:`ConfigError` naming the plugin."""
    for plugin in plugins:
        try:
            if plugin.module == plugin.target:  # an importable module: import it here too
                importlib.import_module(plugin.target)
                _LOADED.setdefault(plugin.target, plugin)
            else:
                _exec(plugin, plugin.target)
        except ConfigError:
            raise
        except (Exception, SystemExit) as err:
            raise ConfigError(
                f"plugin {plugin.target} failed to load in a worker process: {_why(err)}"
            ) from err


def _why(err: BaseException) -> str:
    if isinstance(err, SystemExit):
        return f"it called sys.exit({err.code!r}) while being imported"
    return f"{type(err).__name__}: {err}"


def _exec(plugin: Plugin, filename: str) -> ModuleType:
    if plugin.module in sys.modules:  # loaded already: its policies are registered
        return sys.modules[plugin.module]
    spec = importlib.util.spec_from_loader(plugin.module, loader=None, origin=filename)
    if spec is None:
        raise ConfigError(f"cannot load plugin {plugin.target}")
    module = importlib.util.module_from_spec(spec)
    module.__file__ = filename
    sys.modules[plugin.module] = module
    try:
        exec(compile(plugin.source, filename, "exec"), module.__dict__)
    except BaseException:
        del sys.modules[plugin.module]
        raise
    _LOADED[plugin.target] = plugin
    return module
