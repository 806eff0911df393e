"""Languages of the dashboard, its lessons and figures: a gettext catalogue per language.

The messages are written in English in the code (``_("Key numbers")``); each language has a
standard gettext catalogue, ``sim/present/locale/<lang>/LC_MESSAGES/kemitraan.po``, edited as
text and compiled to ``.mo`` form with Babel when a language is first used (in memory, so a
translator's edit shows on the next start). The Indonesian catalogue translates from the
essay's own vocabulary (kemitraan, kesejahteraan, pemberdayaan, akuntabilitas, ...).

>>> _ = translator("id")
>>> _("Key numbers"), _("Empowerment"), _("a message without a translation")
('Angka kunci', 'Pemberdayaan', 'a message without a translation')
>>> translator("en")("Key numbers")
'Key numbers'
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable
from functools import cache
from pathlib import Path

from sim.errors import UserError

__all__ = ["DOMAIN", "LANGUAGES", "LOCALE", "compile_catalogue", "translator"]

LOCALE = Path(__file__).resolve().parent / "locale"
DOMAIN = "kemitraan"
LANGUAGES = {"en": "English", "id": "Bahasa Indonesia"}
"""Languages offered, by code; English is the language of the code (no catalogue)."""


def compile_catalogue(lang: str) -> bytes:
    """A language's ``.po`` compiled by Babel to the bytes of a ``.mo`` file.

    Kept in memory, so an installed package's folder need not be writable and no stale ``.mo``
    can linger.
    """
    from babel.messages.mofile import write_mo  # deferred: Babel only where translating
    from babel.messages.pofile import read_po

    po = LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po.open("rb") as f:
        catalogue = read_po(f, locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalogue)
    return buffer.getvalue()


@cache
def translator(lang: str) -> Callable[[str], str]:
    """The ``gettext`` function of a language (English: the messages as written)."""
    if lang not in LANGUAGES:
        raise UserError(f"language = {lang!r}: choose one of {list(LANGUAGES)}")
    if lang == "en":
        return str
    return gettext.GNUTranslations(io.BytesIO(compile_catalogue(lang))).gettext
