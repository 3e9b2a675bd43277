"""Whether compiled kernels (numba) may run.

The compiled fast path needs numba. When numba is missing or fails to load on a platform,
or ``SCHEDLAB_JIT=0`` is set, schedlab runs the pure-Python reference path (same results,
slower) and says so once, in one line.
"""

from __future__ import annotations

import hashlib
import logging
import os
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
#: numba's flag for code without reference counting (kernels allocate nothing).
NO_REFCOUNT: dict[str, Any] = {"_nrt": False}
_checked: list[bool] = []
_cache_set: list[bool] = []


def enabled() -> bool:
    """True when compiled kernels can be used; logs a one-line notice the first time not."""
    if not _checked:
        reason = ""
        if os.environ.get("SCHEDLAB_JIT", "1") == "0":
            reason = "SCHEDLAB_JIT=0"
        else:
            try:
                import numba  # noqa: F401
            except Exception as err:  # ImportError, or a broken llvmlite on this platform
                reason = f"numba is not available ({type(err).__name__}: {err})"
        _checked.append(not reason)
        if reason:
            log.warning("compiled kernels are off, %s: running the pure-Python path (slower)", reason)
    return _checked[0]


def _use_cache_for_this_source() -> None:
    """Point numba's on-disk cache at a folder named after a digest of every kernel source.

    numba checks only a function's own file before reusing cached code, not the files of
    the kernels it inlined; keying the folder by all kernel sources means an edited or
    upgraded kernel is never served stale. The base folder is ``SCHEDLAB_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/schedlab/kernels`` (``~/.cache/schedlab/kernels``).
    """
    if _cache_set:
        return
    _numpy_support_without_blas_probe()
    import numba

    _cached_kernels_without_bitcode()
    _cached_kernels_without_registries()

    root = Path(__file__).parent
    digest = hashlib.sha256(f"{numba.__version__} {sys.version}".encode())
    for path in sorted(root.rglob("*.py")):
        if path.name.startswith("kernel") or path.parent.name == "kernels" or path == Path(__file__):
            digest.update(path.relative_to(root).as_posix().encode() + path.read_bytes())
    base = os.environ.get("SCHEDLAB_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "schedlab", "kernels"
    )
    numba.config.CACHE_DIR = os.path.join(base, digest.hexdigest()[:16])  # type: ignore[attr-defined]
    _cache_set.append(True)


def _numpy_support_without_blas_probe() -> None:
    """Import numba's NumPy support before the first kernel loads, with its BLAS probe
    failing fast: ``numba.np.arraymath`` imports ``scipy.linalg`` (0.15-0.2 s) only to choose
    how ``np.correlate`` and ``np.convolve`` multiply, which no kernel calls. ``np.dot`` and
    ``np.linalg`` in a kernel still import scipy when they are compiled."""
    if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
        return
    sys.modules["scipy.linalg"] = None  # type: ignore[assignment]  # an import of it fails at once
    try:
        import numba.np.arraymath  # noqa: F401
    except ImportError:
        pass  # something else needed scipy.linalg: the CPU target imports it all as usual
    finally:
        del sys.modules["scipy.linalg"]


def _cached_kernels_without_bitcode() -> None:
    """Load cached kernels without parsing their LLVM bitcode until something needs it.

    numba caches a kernel as its machine code and its LLVM bitcode, and on loading parses
    the bitcode only to list the symbols it defines, or for a kernel compiled later that
    calls it (loading the replay's kernels: 0.8 s and 166 MB with the parse, 0.3 s and 71 MB
    without). Here the symbols come from the machine code's ELF symbol table (the ones a
    lookup may ask for: defined, global or weak), and the bitcode is parsed when a later
    compilation links the kernel. Anything other than a 64-bit little-endian ELF object, or
    a numba without these internals, loads as numba does."""
    from numba.core import codegen

    library = getattr(codegen, "CPUCodeLibrary", None)
    needed = ("_unserialize", "_get_module_for_linking", "enable_object_caching", "_set_compiled_object")
    if library is None or not all(hasattr(library, name) for name in needed):
        return
    unserialize, for_linking = library._unserialize.__func__, library._get_module_for_linking

    def lazy_unserialize(cls: type, target: Any, state: tuple[str, str, Any]) -> Any:
        name, kind, data = state
        symbols = getattr(getattr(target, "_engine", None), "_defined_symbols", None)
        if kind == "object" and isinstance(symbols, set) and isinstance(data, tuple) and len(data) == 2:
            defined = elf_symbols(data[0])
            if defined is not None:
                self = target.create_library(name)
                self.enable_object_caching()
                self._set_compiled_object(data[0])
                self._schedlab_bitcode = data[1]
                self._finalize_final_module()
                symbols |= defined
                return self
        return unserialize(cls, target, state)

    def parsed_for_linking(self: Any) -> Any:
        bitcode = getattr(self, "_schedlab_bitcode", None)
        if self._shared_module is None and bitcode is not None:
            import llvmlite.binding as ll

            self._shared_module, self._schedlab_bitcode = ll.parse_bitcode(bitcode), None
        return for_linking(self)

    library._unserialize = classmethod(lazy_unserialize)
    library._get_module_for_linking = parsed_for_linking


def _cached_kernels_without_registries() -> None:
    """Load a cached kernel without first importing numba's lowering registries.

    Before loading a cached kernel, numba refreshes the CPU target: it imports the
    implementations of every Python and NumPy construct it can compile and installs them,
    which only compiling uses: loading links machine code. The refresh still happens when
    something is compiled (numba's compiler refreshes both contexts first), and the runtime
    that kernels may link against is initialised as before. A numba without these internals
    loads as numba does."""
    from numba.core import caching

    cache = getattr(caching, "Cache", None)
    if cache is None or not all(
        hasattr(cache, n) for n in ("_load_overload", "_guard_against_spurious_io_errors")
    ):
        return

    def load_overload(self: Any, sig: Any, target_context: Any) -> Any:
        from numba.core.runtime.nrt import rtsys

        rtsys.initialize(target_context)
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)

    cache.load_overload = load_overload


def elf_symbols(code: bytes) -> set[str] | None:
    """The global and weak symbols defined in a 64-bit little-endian ELF object (None: not
    one, or not one symbol table)."""
    if code[:6] != b"\x7fELF\x02\x01":
        return None
    (offset,), (count,) = struct.unpack_from("<Q", code, 0x28), struct.unpack_from("<H", code, 0x3C)
    sections = [struct.unpack_from("<IIQQQQIIQQ", code, offset + 64 * i) for i in range(count)]
    tables = [s for s in sections if s[1] == 2]  # SHT_SYMTAB
    if len(tables) != 1:
        return None
    _, _, _, _, start, size, link, _, _, _ = tables[0]
    names_at, names_size = sections[link][4], sections[link][5]
    names = code[names_at : names_at + names_size]
    defined = set()
    for name, info, _, section, _, _ in struct.iter_unpack("<IBBHQQ", code[start : start + size]):
        if name and section != 0 and info >> 4 in (1, 2):  # defined, STB_GLOBAL or STB_WEAK
            defined.add(names[name : names.index(b"\0", name)].decode())
    return defined


def cached(entry: str) -> bool:
    """Whether the kernel ``entry`` (a function name) of this very source is on disk."""
    _use_cache_for_this_source()
    import numba

    folder = Path(numba.config.CACHE_DIR)  # type: ignore[attr-defined]
    return folder.is_dir() and any(folder.rglob(f"*.{entry}-*.nbi"))


def compile_notice(entry: str) -> None:
    """Say that kernels are about to be compiled, when ``entry`` is not on disk yet."""
    if not cached(entry):
        log.info("compiling the kernels (once per machine and schedlab version: about 2 minutes)")


#: numba's flags for a function called only from compiled code: no Python wrapper (which
#: unboxes every array of every argument: for the replay's state, hundreds of arrays, whose
#: code costs seconds to compile per function) and no C wrapper.
INTERNAL: dict[str, Any] = {"no_cpython_wrapper": True, "no_cfunc_wrapper": True}


def kernel(function: F) -> F:
    """Compile ``function`` with numba, callable from Python: cached on disk, GIL released,
    and without reference counting (``_nrt=False``: a kernel may not allocate arrays, so its
    calls cost a few nanoseconds instead of one atomic operation per array argument).

    Only modules that hold kernels call this (they are imported only when numba is there).
    """
    import numba

    _use_cache_for_this_source()
    return numba.njit(cache=True, nogil=True, **NO_REFCOUNT)(function)  # type: ignore[no-any-return]


def step(function: F) -> F:
    """Like :func:`kernel`, for a function called only from other compiled functions."""
    import numba

    _use_cache_for_this_source()
    return numba.njit(cache=True, nogil=True, **NO_REFCOUNT, **INTERNAL)(function)  # type: ignore[no-any-return]


def merged(function: F) -> F:
    """Like :func:`step`, compiled as part of its caller (numba inlines its code before
    typing): for a large function called from one place, which then adds no compiled library
    of its own (each library is compiled with every function it calls, so a chain of large
    functions costs its length times their size to compile)."""
    import numba

    _use_cache_for_this_source()
    return numba.njit(inline="always", nogil=True, **NO_REFCOUNT, **INTERNAL)(function)  # type: ignore[no-any-return]


def inline(function: F) -> F:
    """Like :func:`step`, and inlined into every compiled caller. For the small helpers of
    hot loops: a call passes every field of every array argument (hundreds of words for the
    state tuples), which costs more than the helper's work."""
    import numba

    _use_cache_for_this_source()
    flags = NO_REFCOUNT | INTERNAL
    return numba.njit(cache=True, nogil=True, forceinline=True, **flags)(function)  # type: ignore[no-any-return]
