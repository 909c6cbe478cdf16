#!/usr/bin/env python3
"""Write the verification-visit XLSForm from its definition in vigilancia.io.field.xlsform.

    .venv/bin/python scripts/build_xlsform.py            # writes src/vigilancia/forms/...
    .venv/bin/python scripts/build_xlsform.py out.xlsx   # writes elsewhere

The committed .xlsx must say what the definition says; tests/io/test_field_xlsform.py
checks it, so run this script after changing the definition and commit both.
"""

from __future__ import annotations

import sys
from pathlib import Path

from vigilancia.io.field.xlsform import FORM_FILE, write_xlsform

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    target = Path(argv[1]) if len(argv) > 1 else ROOT / "src" / "vigilancia" / "forms" / FORM_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    print(write_xlsform(target))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
