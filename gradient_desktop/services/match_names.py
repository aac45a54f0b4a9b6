"""Company names as comparable words: what auto-match (``services/suggest.py``) compares.

"The Carter Family Dentistry, PLLC - Main Office", "CARTER FAMILY DENTISTRY" and
"carterfamilydentistry.onmicrosoft.com" all become the words ``carter family dentistry``:

- case and punctuation go; ``&`` is "and"; apostrophes join ("O'Brien" → ``obrien``);
- site descriptors go: a tail after " - " or " | ", and anything in parentheses;
- shortened words are written out (Mgmt, Assoc, Svcs, Intl, Bros, Ctr, ...);
- words that say what kind of entity it is, not which (Inc, LLC, PLLC, Corp, Co, "The", "and"),
  are dropped — unless nothing else is left;
- a domain-shaped name loses ``www.``, ``.onmicrosoft.com`` and its TLDs, and its run-together
  label is split later against the other list's vocabulary (``split_run_together``).

Qt-free and dependency-free.
"""

from __future__ import annotations

import re

#: Words that say what kind of legal entity a company is, not which company it is.
NOISE = frozenset(
    "the inc incorporated corp corporation co company llc ltd limited plc pllc llp lp pc pa psc "
    "gmbh and".split()
)
#: Abbreviations a billing system uses for words that are *part* of a name.
EXPAND = {
    "svcs": "services",
    "svc": "services",
    "srvcs": "services",
    "mgmt": "management",
    "mgt": "management",
    "intl": "international",
    "assoc": "associates",
    "assocs": "associates",
    "assn": "association",
    "bros": "brothers",
    "mfg": "manufacturing",
    "tech": "technologies",
    "ctr": "center",
    "ctrs": "centers",
    "grp": "group",
    "natl": "national",
    "dept": "department",
    "acctg": "accounting",
    "hlth": "health",
    "med": "medical",
    "univ": "university",
}
#: The last labels of a domain that say nothing about the company.
TLDS = frozenset(
    "com net org biz info us co uk ca au nz de fr nl io ie eu me tv cc ltd llc inc site online "
    "business pro tech cloud app".split()
)
_PUNCT = re.compile(r"[^\w\s]")
_DOMAIN = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?(?:[^@\s/]+@)?([a-z0-9-]+(?:\.[a-z0-9-]+)+)/?$")
# A site descriptor: "… - Main Office", "… | Denver", "… (HQ)". Spaces around the dash matter:
# "Smith-Jones" is one name.
_SITE_TAIL = re.compile(r"\s+[-–—|]\s+.*$|\s*\([^)]*\)")


def domain_label(text: str) -> str | None:
    """The company part of a domain-shaped name ("www.acme-dental.com" → "acme dental"),
    or None when ``text`` is not domain-shaped."""
    m = _DOMAIN.match(text)
    if m is None:
        return None
    host = m.group(1)
    host = host.removeprefix("www.")
    if host.endswith(".onmicrosoft.com"):
        host = host[: -len(".onmicrosoft.com")]
    labels = host.split(".")
    while len(labels) > 1 and labels[-1] in TLDS:
        labels.pop()
    return " ".join(labels).replace("-", " ")


def words(name: str) -> tuple[list[str], bool]:
    """The comparable words of a company name, and whether it was domain-shaped (its words may
    be several run together: "carterfamilydentistry")."""
    text = name.strip().casefold()
    label = domain_label(text) if "." in text and " " not in text else None
    domain = label is not None
    if domain:
        text = label  # type: ignore[assignment]
    elif " -" in text or "|" in text or "(" in text or "–" in text or "—" in text:
        stripped = _SITE_TAIL.sub("", text)
        text = stripped if stripped.strip() else text
    # Dots and apostrophes join ("P.C." → pc, "O'Brien" → obrien); other punctuation parts.
    text = text.replace("&", " and ").replace("'", "").replace("’", "").replace(".", "")
    text = _PUNCT.sub(" ", text)
    raw = [EXPAND.get(w, w) for w in text.split()]
    kept = [w for w in raw if w not in NOISE]
    # A name made only of noise ("The Company") keeps its words rather than becoming nothing.
    return (kept or raw), domain


def normalise(name: str) -> str:
    """The comparable form of a company name ("ACME Corp." → "acme")."""
    return " ".join(words(name)[0])


def split_run_together(word: str, vocab: set[str] | frozenset[str]) -> list[str] | None:
    """``word`` as the fewest words of ``vocab`` ("lakesidefinancial" → lakeside, financial),
    or None when it cannot be written so. Dynamic programming over split points."""
    n = len(word)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for end in range(2, n + 1):
        for start in range(0, end - 1):
            head = best[start]
            if head is None:
                continue
            piece = word[start:end]
            if piece in vocab or piece in NOISE:
                cand = best[end]
                if cand is None or len(head) + 1 < len(cand):
                    best[end] = [*head, piece]
    return best[n]
