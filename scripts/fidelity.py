"""Print the "schedlab vs published" table of the README (10 seeds x 6 policies, ~1 minute)."""

from __future__ import annotations

import time

from schedlab.validation.atc23 import SEEDS
from schedlab.validation.fidelity import fidelity_table, markdown


def main() -> None:
    start = time.perf_counter()
    table = fidelity_table(SEEDS)
    print(markdown(table, len(SEEDS)))
    print(f"\n60 runs in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
