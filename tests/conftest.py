"""Shared test set-up: every test starts in the default language (Spanish)."""

import pytest

from vigilancia.i18n import DEFAULT_LANGUAGE, set_language


@pytest.fixture(autouse=True)
def _default_language():
    set_language(DEFAULT_LANGUAGE)
    yield
    set_language(DEFAULT_LANGUAGE)
