"""Loading cached kernels: symbols from the machine code, bitcode parsed only to link, numba's
lowering registries loaded only to compile."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from schedlab.jit import elf_symbols

pytest.importorskip("numba")

KERNEL = """
from schedlab.jit import kernel


@kernel
def inc(x):
    return x + 1
"""

LOAD_THEN_LINK = """
import sys
import numba
import kernels_under_test as k

REGISTRY = "numba.np.polynomial.polynomial_core"  # imported by numba's target refresh only
print(k.inc(1), REGISTRY in sys.modules)
library = k.inc.overloads[k.inc.signatures[0]].library
print(k.inc.stats.cache_hits.most_common(1)[0][1], library._shared_module is None)
twice = numba.njit(lambda x: k.inc(x) * 2)  # compiled now, linking the cached kernel in
print(twice(3), library._shared_module is not None, REGISTRY in sys.modules)
"""


def test_a_kernel_from_the_cache_runs_and_links_into_one_compiled_later(tmp_path: Path) -> None:
    (tmp_path / "kernels_under_test.py").write_text(KERNEL)
    env = os.environ | {
        "SCHEDLAB_CACHE_DIR": str(tmp_path / "cache"),
        "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path]),
    }

    def run(code: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.split("\n")[:-1]

    assert run("import kernels_under_test as k; print(k.inc(1))") == ["2"]  # compiled, cached
    # loaded from the cache without its bitcode or numba's lowering registries, which
    # compiling `twice` then parses and loads
    assert run(LOAD_THEN_LINK) == ["2 False", "1 True", "8 True True"]


def test_elf_symbols_are_the_defined_names_of_the_bitcode() -> None:
    import llvmlite.binding as ll
    import numba

    @numba.njit
    def add(x: int, y: int) -> int:
        return x + y

    add(1, 2)
    library = add.overloads[add.signatures[0]].library
    code = library._codegen._tm.emit_object(library._final_module.clone())  # what numba caches
    module = ll.parse_bitcode(library._get_module_for_linking().as_bitcode())  # and beside it
    named = {
        value.name
        for value in [*module.functions, *module.global_variables]
        if not value.is_declaration and not value.name.startswith(".const.")  # private constants
    }
    symbols = elf_symbols(code)
    assert symbols == named
    assert any("7cpython" in name for name in named)  # the entry point numba looks up
    assert elf_symbols(b"\x7fELF\x01\x01" + code[6:]) is None  # 32-bit: numba's own path
    assert elf_symbols(b"\xcf\xfa\xed\xfe" + code[4:]) is None  # Mach-O
