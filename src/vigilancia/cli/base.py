"""The base of every command group: help texts, and the framework's own words, in the
user's language.

Typer reads help texts when the modules are imported, long before the settings (hence the
language) are known, and settings are never read at import. So help texts are written as
English message ids and translated when a command runs:

- every ``typer.Typer`` of ``cli/`` is an :class:`App`, whose groups are
  :class:`HelpGroup` and whose commands are :class:`HelpCommand`;
- option and argument help is marked with :func:`~vigilancia.i18n.N_` (so that the
  catalog guard of ``tests/test_i18n.py`` finds it); a command's docstring is its help;
- when the outermost command starts (``main``), the language is read from the settings
  and every help text of the tree is translated in place (:func:`translate_tree`),
  paragraph by paragraph: each paragraph, its whitespace folded into single spaces, is one
  message id (:func:`help_id`); an ``Example:`` paragraph keeps its command and only the
  word ``Example:`` is translated;
- the words of Click and Typer themselves go through the same catalog: ``Usage:`` and
  the help option (:class:`HelpCommand` methods), panel titles and ``[required]``
  (:func:`use_language_for_framework`), usage errors such as a missing argument
  (:func:`usage_error_text`).

A new command group::

    from vigilancia.cli.base import App
    from vigilancia.i18n import N_

    things_app = App(help=N_("Things.") + "\\n\\nExample: vigilancia things list ws")

    @things_app.command("list")
    def things_list(workspace: Annotated[Path, typer.Argument(help=N_("Workspace folder."))]):
        \"\"\"List the things.

        Example: vigilancia things list ws
        \"\"\"

and a Spanish entry for each new paragraph in the area's catalog file.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from vigilancia.i18n import DEFAULT_LANGUAGE, N_, _, language

#: The word that opens an example paragraph; the rest of the paragraph is a command.
EXAMPLE = "Example:"


def help_paragraphs(text: str | None) -> list[str]:
    """The paragraphs of a help text (blank-line separated), as Click shows them: text
    after a line holding only ``\\f`` is left out."""
    if not text:
        return []
    body = inspect.cleandoc(text).partition("\f")[0]
    return [p for p in body.split("\n\n") if p.strip()]


def help_id(paragraph: str) -> str:
    """The message id of a help paragraph: its words joined by single spaces.

    >>> help_id("Score every unit\\n    and explain it.")
    'Score every unit and explain it.'
    """
    return " ".join(paragraph.split())


def translate_help(text: str | None) -> str | None:
    """``text`` in the current language, paragraph by paragraph (see the module docstring).

    >>> from vigilancia.i18n import language
    >>> with language("es"):
    ...     translate_help("Workspace folder.\\n\\nExample: vigilancia init ws")
    'Carpeta del espacio de trabajo.\\n\\nEjemplo: vigilancia init ws'
    """
    if not text:
        return text
    out = []
    for paragraph in help_paragraphs(text):
        key = help_id(paragraph)
        if key.startswith(EXAMPLE):
            out.append(_(EXAMPLE) + key[len(EXAMPLE):])
        else:
            out.append(_(key))
    return "\n\n".join(out)


def _help_of(obj: Any, attr: str) -> str | None:
    """The English help text of ``obj`` (kept aside the first time it is translated)."""
    original = f"_vigilancia_{attr}_id"
    if not hasattr(obj, original):
        setattr(obj, original, getattr(obj, attr, None))
    value: str | None = getattr(obj, original)
    return value


def walk(command: Any) -> Iterator[Any]:
    """``command`` and every command and group under it."""
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from walk(sub)


def translate_tree(root: Any) -> None:
    """Set every help text under ``root`` (commands, groups, their options and arguments)
    in the current language; the English ids are kept, so that it can run again in
    another language."""
    for command in walk(root):
        for attr in ("help", "short_help", "epilog"):
            if getattr(command, attr, None) or hasattr(command, f"_vigilancia_{attr}_id"):
                setattr(command, attr, translate_help(_help_of(command, attr)))
        for param in command.params:
            if getattr(param, "help", None) or hasattr(param, "_vigilancia_help_id"):
                param.help = translate_help(_help_of(param, "help"))


def help_language() -> str:
    """The language that help is shown in: the settings' (``VIGILANCIA_LANGUAGE``); the
    variable itself when the settings cannot be read (their error comes when the command
    runs)."""
    from pydantic import ValidationError

    from vigilancia.config import Settings

    try:
        return Settings().language
    except ValidationError:
        return os.environ.get("VIGILANCIA_LANGUAGE") or DEFAULT_LANGUAGE


# ------------------------------------------------------------------ the framework's words

#: Typer's fixed words, read from its module when help or an error is drawn: name -> id.
_TYPER_WORDS = {
    "DEPRECATED_STRING": "(deprecated) ",
    "DEFAULT_STRING": "[default: {}]",
    "ENVVAR_STRING": "[env var: {}]",
    "REQUIRED_LONG_STRING": "[required]",
    "ARGUMENTS_PANEL_TITLE": "Arguments",
    "OPTIONS_PANEL_TITLE": "Options",
    "COMMANDS_PANEL_TITLE": "Commands",
    "ERRORS_PANEL_TITLE": "Error",
    "ABORTED_TEXT": "Aborted.",
    "RICH_HELP": "Try [blue]'{command_path} {help_option}'[/] for help.",
}


def use_language_for_framework() -> None:
    """Set Typer's fixed words (panel titles, ``[required]``...: constants of its
    ``rich_utils`` module, read when help or an error is drawn) in the current language."""
    from typer import rich_utils

    for attr, msgid in _TYPER_WORDS.items():
        setattr(rich_utils, attr, _(msgid))


#: Usage errors Click words in English, as (pattern, message id): the pattern's named
#: groups fill the id's placeholders.
_USAGE_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.DOTALL), msgid) for pattern, msgid in (
        (r"No such command '(?P<name>[^']*)'\.? Did you mean (?P<names>.+)\?$",
         N_("No such command '{name}'. Did you mean {names}?")),
        (r"No such command '(?P<name>[^']*)'\.$", N_("No such command '{name}'.")),
        (r"Missing command\.$", N_("Missing command.")),
        (r"Got unexpected extra argument(?:s|\(s\))? \((?P<args>.*)\)$",
         N_("Unexpected extra arguments: {args}")),
        (r"Option '(?P<name>[^']*)' requires an argument\.$",
         N_("Option '{name}' requires a value.")),
        (r"Option '(?P<name>[^']*)' does not take a value\.$",
         N_("Option '{name}' does not take a value.")),
    )
)


#: Why a value was refused, as Typer words it (type checks): (pattern, message id).
_VALUE_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.DOTALL), msgid) for pattern, msgid in (
        (r"Input should be a valid integer", N_("it must be a whole number")),
        (r"Input should be a valid number", N_("it must be a number")),
        (r"Input should be a valid boolean", N_("it must be true or false")),
        (r"(?:Value error, )?(?P<value>'[^']*') is not one of (?P<choices>.+)\.$",
         N_("{value} is not one of {choices}.")),
    )
)


def _value_error_text(message: str) -> str:
    for pattern, msgid in _VALUE_ERRORS:
        found = pattern.match(message)
        if found:
            return _(msgid, **found.groupdict())
    return message


def _click_exceptions() -> Any:
    try:  # Typer 0.2x carries its own copy of Click
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - older Typer uses Click itself
        from click import exceptions  # type: ignore[no-redef]
    return exceptions


def _param_hint(exc: Any) -> str | None:
    """How Click names the parameter of a usage error: ``'--top'``, ``'WORKSPACE'``."""
    hint = exc.param_hint
    if hint is None and exc.param is not None:
        hint = exc.param.get_error_hint()
    if hint is not None and not isinstance(hint, str):
        hint = " / ".join(repr(x) for x in hint)
    return hint


def usage_error_text(exc: Exception) -> str | None:
    """The message of a usage error of Click (missing argument, unknown option, bad
    value...) in the current language; None when it is no usage error. Details that come
    from a value's type (why a text is no number) stay as Click words them."""
    errors = _click_exceptions()
    if isinstance(exc, errors.NoArgsIsHelpError) or not isinstance(exc, errors.UsageError):
        return None
    if isinstance(exc, errors.MissingParameter):
        hint = _param_hint(exc)
        kind = exc.param_type or (exc.param.param_type_name if exc.param else "parameter")
        return {"argument": _("Missing argument {name}.", name=hint),
                "option": _("Missing option {name}.", name=hint)}.get(
                    kind, _("Missing parameter {name}.", name=hint))
    if isinstance(exc, errors.NoSuchOption):
        text = _("No such option: {name}", name=exc.option_name)
        if exc.possibilities:
            text += " " + _("(did you mean: {names}?)", names=", ".join(sorted(exc.possibilities)))
        return text
    if isinstance(exc, errors.BadParameter):
        hint = _param_hint(exc)
        if hint is None:
            return _("Invalid value: {message}", message=_value_error_text(exc.message))
        return _("Invalid value for {name}: {message}", name=hint,
                 message=_value_error_text(exc.message))
    for pattern, msgid in _USAGE_ERRORS:
        found = pattern.match(exc.message)
        if found:
            return _(msgid, **found.groupdict())
    return None


def _translate_usage_error(exc: Exception) -> None:
    try:
        text = usage_error_text(exc)
    except Exception:  # pragma: no cover - Click's own wording is shown instead
        return
    if text is not None:
        exc.format_message = lambda: text  # type: ignore[attr-defined]


class _Translated:
    """What :class:`HelpGroup` and :class:`HelpCommand` share: the outermost ``main``
    translates the tree in the settings' language; drawing help translates it again in the
    language of the moment (a caller that draws help without ``main``); usage errors are
    worded in the user's language."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        with language(help_language()):
            use_language_for_framework()
            translate_tree(self)
            return super().main(  # type: ignore[misc]
                args, prog_name, complete_var, standalone_mode, windows_expand_args, **extra)

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None,
                     **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent, **extra)  # type: ignore[misc]
        except Exception as exc:
            _translate_usage_error(exc)
            raise

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)  # type: ignore[misc]
        except Exception as exc:
            _translate_usage_error(exc)
            raise

    def format_help(self, ctx: Any, formatter: Any) -> None:
        use_language_for_framework()
        translate_tree(self)
        super().format_help(ctx, formatter)  # type: ignore[misc]

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        pieces = self.collect_usage_pieces(ctx)  # type: ignore[attr-defined]
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=_("Usage:") + " ")

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = _("Show this message and exit.")
        return option


class HelpCommand(_Translated, TyperCommand):
    """A command whose help is shown in the user's language."""


class HelpGroup(_Translated, TyperGroup):
    """A command group whose help (its own and its commands') is shown in the user's
    language. Subclass it for a group with its own parsing."""


class App(typer.Typer):
    """``typer.Typer`` for vigilancia: groups are :class:`HelpGroup` and commands
    :class:`HelpCommand` unless a subclass of them is given."""

    def __init__(self, *, cls: type[TyperGroup] | None = HelpGroup, **kwargs: Any) -> None:
        super().__init__(cls=cls, **kwargs)

    def command(self, name: str | None = None, *, cls: type[TyperCommand] | None = HelpCommand,
                **kwargs: Any) -> Callable[[Any], Any]:
        return super().command(name, cls=cls, **kwargs)
