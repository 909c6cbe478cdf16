"""The templates: every text through the catalog, nothing loaded from outside the app."""

from __future__ import annotations

import re
from pathlib import Path

from vigilancia.i18n import translations
from vigilancia.web.state import STATIC_DIR, TEMPLATES_DIR

TEXT = re.compile(r"""_\(\s*(?:"([^"]+)"|'([^']+)')\s*\)""")


def test_every_template_text_has_a_spanish_translation():
    es = translations("es")
    missing = []
    for path in sorted(TEMPLATES_DIR.glob("*.html")):
        for a, b in TEXT.findall(path.read_text(encoding="utf-8")):
            if (a or b) not in es:
                missing.append(f"{path.name}: {a or b!r}")
    assert missing == []


def test_templates_and_styles_load_nothing_from_outside():
    for path in [*TEMPLATES_DIR.glob("*.html"), *STATIC_DIR.glob("*.css")]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=[\"']?(https?:)?//", text), path.name
        assert "@import url(" not in text and "fonts.googleapis" not in text, path.name


def test_the_static_folder_is_served_from_the_package():
    assert (STATIC_DIR / "app.css").is_file() and (STATIC_DIR / "vendor").is_dir()
    assert Path(TEMPLATES_DIR, "base.html").read_text(encoding="utf-8").count("csrf") >= 2
