"""HTML and PDF documents from Jinja2 templates (WeasyPrint), the same way for every report.

- :func:`environment`: the templates of this package (``reports/templates``), with a
  workspace's own folder (``<workspace>/plantillas``) in front: a file there with the
  same name replaces the packaged one, so an organisation edits its addressee templates
  (salutation, legal references, signature) without touching the program. Templates run
  in Jinja2's sandbox, escape what they print, and have ``_``/``ngettext`` (the
  catalogs of :mod:`vigilancia.i18n`) and the number and date filters below.
- :func:`write_pdf`: HTML to PDF with fixed metadata: the title, the language, the
  creation and modification dates set to the report's issue time, the file identifier
  taken from the content hash, and files embedded with that same time. WeasyPrint
  fetches nothing: images come inside the HTML as ``data:`` URIs and any other URL is
  refused, so a template cannot reach the network and no build differs from another.
- :func:`data_uri`: bytes as a ``data:`` URI for ``<img src>``.

Fonts are DejaVu (Debian's ``fonts-dejavu-core``), which hold every Spanish letter.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from vigilancia.errors import InputError
from vigilancia.i18n import _, ngettext, number, percent

__all__ = [
    "ADDRESSEE_FOLDER",
    "data_uri",
    "environment",
    "filters",
    "install_templates",
    "load_weasyprint",
    "render_template",
    "write_pdf",
]

TEMPLATES = Path(__file__).parent / "templates"
#: Sub-folder of the addressee templates (``<addressee>.<language>.html.j2``).
ADDRESSEE_FOLDER = "destinatarios"


def _num(value: Any, digits: int = 0) -> str:
    return number(value, digits)


def _ha(value: Any) -> str:
    """Hectares: two decimals below 10 ha, one below 1,000, none above."""
    try:
        x = abs(float(value))
    except (TypeError, ValueError):
        return "—"
    return number(value, 2 if x < 10 else (1 if x < 1000 else 0))


def _pct(share: Any, digits: int = 1) -> str:
    text = percent(share, digits)
    return "—" if text == "?" else text


def _day(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()


def _moment(value: datetime | None) -> str:
    """A UTC time as ``2024-05-01 15:00 UTC``."""
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _short(value: str | None, n: int = 16) -> str:
    return "—" if not value else (value if len(value) <= n else value[:n] + "…")


def _group(text: str | None, size: int = 16) -> str:
    """A long hash in groups of ``size`` characters separated by spaces (it wraps)."""
    if not text:
        return "—"
    return " ".join(text[i:i + size] for i in range(0, len(text), size))


def filters() -> dict[str, Any]:
    """The filters templates use: ``num``, ``ha``, ``pct``, ``day``, ``moment``,
    ``short`` (a hash cut to 16 characters) and ``group`` (a hash in groups)."""
    return {"num": _num, "ha": _ha, "pct": _pct, "day": _day, "moment": _moment,
            "short": _short, "group": _group}


def environment(templates: Path | None = None) -> Any:
    """The Jinja2 environment: ``templates`` (a workspace's folder, when it exists) first,
    then the packaged templates (see the module text)."""
    from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, select_autoescape
    from jinja2.sandbox import SandboxedEnvironment

    folders: list[Any] = []
    if templates is not None and Path(templates).is_dir():
        folders.append(FileSystemLoader(str(templates)))
    folders.append(FileSystemLoader(str(TEMPLATES)))
    env = SandboxedEnvironment(
        loader=ChoiceLoader(folders), autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters.update(filters())
    env.globals.update({"_": _, "ngettext": ngettext})
    return env


def render_template(templates: Path | None, name: str, context: dict[str, Any]) -> str:
    """Template ``name`` filled with ``context``. A template that cannot be read or filled
    (a user's edit with a syntax error, a missing value) is an
    :class:`~vigilancia.errors.InputError` naming the file and the line."""
    from jinja2 import TemplateError, TemplateNotFound, TemplateSyntaxError

    env = environment(templates)
    try:
        return str(env.get_template(name).render(**context))
    except TemplateNotFound as exc:
        raise InputError(_("the report template {name} was not found", name=exc.name),
                         hint=_("restore it, or remove the workspace's copy"),
                         source=str(templates or TEMPLATES)) from exc
    except TemplateSyntaxError as exc:
        where = exc.filename or exc.name or name
        raise InputError(_("line {line}: {why}", line=exc.lineno, why=exc.message),
                         hint=_("fix the template, or remove the workspace's copy to use "
                                "the one that comes with vigilancia"), source=where) from exc
    except TemplateError as exc:
        raise InputError(_("the report template could not be filled: {why}",
                           why=exc.message or type(exc).__name__),
                         hint=_("fix the template, or remove the workspace's copy to use "
                                "the one that comes with vigilancia"),
                         source=str(templates or TEMPLATES)) from exc


def install_templates(folder: Path, *, overwrite: bool = False) -> tuple[list[Path], list[Path]]:
    """Copy the packaged addressee templates into ``folder/destinatarios`` (created, owner
    only) for an organisation to edit. A copy already there is kept unless ``overwrite``.
    Returns the files written and the files kept."""
    from vigilancia.io.files import replace_bytes

    target = Path(folder) / ADDRESSEE_FOLDER
    try:
        target.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise InputError(_("the templates folder could not be created"),
                         hint=_("check the path and that you may write there"),
                         source=str(target)) from exc
    written, kept = [], []
    for source in sorted((TEMPLATES / ADDRESSEE_FOLDER).glob("*.html.j2")):
        dest = target / source.name
        if dest.exists() and not overwrite:
            kept.append(dest)
            continue
        replace_bytes(dest, source.read_bytes())
        written.append(dest)
    return written, kept


def data_uri(data: bytes, mime: str = "image/png") -> str:
    """``data`` as a ``data:`` URI."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def load_weasyprint() -> Any:
    """WeasyPrint, imported without its side effect on Pillow: its import turns on
    ``ImageFile.LOAD_TRUNCATED_IMAGES`` for the whole process, after which a server that
    has drawn one report would take truncated field photos as whole ones. The setting is
    put back as it was."""
    from PIL import ImageFile

    before = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        import weasyprint
        import weasyprint.urls
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before
    return weasyprint


def _fetcher() -> Any:
    return load_weasyprint().urls.URLFetcher(allowed_protocols=["data"], timeout=1)


def write_pdf(html: str, *, issued_at: datetime, identifier: str,
              attachments: Sequence[tuple[str, bytes, str]] = ()) -> bytes:
    """``html`` as PDF bytes (see the module text). ``identifier``: hex text whose first 32
    characters become the PDF's file identifier; ``attachments``: (name, bytes,
    description) of files to embed, dated ``issued_at``."""
    weasyprint = load_weasyprint()
    HTML, Attachment = weasyprint.HTML, weasyprint.Attachment  # noqa: N806
    when = issued_at.replace(tzinfo=None)
    fetcher = _fetcher()
    files = [Attachment(string=data, name=name, description=description, created=when,
                        modified=when, url_fetcher=fetcher, relationship="Data")
             for name, data, description in attachments]
    doc = HTML(string=html, url_fetcher=fetcher, base_url="data:,")
    return bytes(doc.write_pdf(pdf_identifier=bytes.fromhex(identifier[:32]),
                               attachments=files, uncompressed_pdf=False))
