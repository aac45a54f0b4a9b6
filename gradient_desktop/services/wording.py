"""Counts in user-facing sentences: "1 card needs review", "192 cards need review".

The app used to write "count(s)" and "192 needs review"; these helpers make the noun (and the
verb, where a count is the subject) agree with the number. English only, like the rest of the
app's text. Qt-free.
"""

from __future__ import annotations

#: Nouns whose plural is not the singular + "s".
_IRREGULAR = {"entry": "entries", "company": "companies"}
#: Verbs whose plural form is not the third person without its "s".
_VERBS = {"is": "are", "was": "were", "has": "have", "does": "do"}


def plural_of(word: str) -> str:
    """The plural of one of the app's nouns: "card" → "cards", "entry" → "entries"."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


def noun(n: float, singular: str, plural_form: str | None = None) -> str:
    """The noun alone, agreeing with ``n``: noun(1, "card") → "card", noun(3, "card") → "cards"."""
    return singular if n == 1 else (plural_form or plural_of(singular))


def plural(n: float, singular: str, plural_form: str | None = None) -> str:
    """The count and its noun: plural(1, "count") → "1 count"; plural(1200, "count") →
    "1,200 counts"."""
    number = f"{n:,}" if isinstance(n, int) else f"{n:,.2f}".rstrip("0").rstrip(".")
    return f"{number} {noun(n, singular, plural_form)}"


def verb(n: float, singular: str) -> str:
    """The verb agreeing with a count subject: verb(1, "needs") → "needs", verb(2, …) → "need"."""
    if n == 1:
        return singular
    if singular in _VERBS:
        return _VERBS[singular]
    if singular.endswith(("sses", "ches", "shes", "xes")):
        return singular[:-2]
    return singular[:-1] if singular.endswith("s") else singular


def figures(*items: tuple[float, str]) -> list[str]:
    """The phrases whose figure is not zero, in order: a summary names only what happened.
    ``figures((2, "2 failed"), (0, "0 unmapped"))`` → ``["2 failed"]``."""
    return [text for n, text in items if n]


__all__ = ["figures", "noun", "plural", "plural_of", "verb"]
