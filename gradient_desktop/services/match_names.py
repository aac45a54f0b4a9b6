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

``Names`` holds both lists as word tuples with each word's weight (rarer words weigh more).
Qt-free; rapidfuzz is imported on first use.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from itertools import chain

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
#: A word this similar (0–1) to a legal word is that word misspelt ("Corportion").
NOISE_SIMILAR = 0.8
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
    if not text.isascii():  # "Café Müller" is "Cafe Muller" in a billing system's export
        text = "".join(
            c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
        )
    label = domain_label(text) if "." in text and " " not in text else None
    domain = label is not None
    if domain:
        text = label  # type: ignore[assignment]
    elif " -" in text or "|" in text or "(" in text or "–" in text or "—" in text:
        stripped = _SITE_TAIL.sub("", text)
        text = stripped if stripped.strip() else text
    # Dots and apostrophes join ("P.C." → pc, "O'Brien" → obrien); other punctuation parts.
    text = text.replace("&", " and ").replace("'", "").replace("’", "").replace(".", "")
    if not text.replace(" ", "").isalnum():  # most names need no regex
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


class Names:
    """Both lists as word tuples, the vocabulary and each word's weight."""

    def __init__(self, sources: Sequence[tuple[str, str]], targets: Sequence[tuple[str, str]]):
        # Each distinct spelling is parsed once (at 50,000 names many repeat).
        parsed_t = {name: words(name) for name in dict.fromkeys(name for _id, name in targets)}
        parsed_s = {name: words(name) for name in dict.fromkeys(name for _id, name in sources)}
        clients = {w for ws, _d in parsed_t.values() for w in ws}
        vocab = clients | {w for ws, d in parsed_s.values() if not d for w in ws}
        vocab = {w for w in vocab if len(w) > 1}
        fixed: dict[tuple[str, ...], tuple[str, ...]] = {}
        final: dict[str, tuple[str, ...]] = {}
        for parsed in (parsed_t, parsed_s):
            for name, (ws, domain) in parsed.items():
                key = (*ws, "\x00") if domain else tuple(ws)
                hit = fixed.get(key)
                if hit is None:
                    hit = fixed[key] = _repair(ws, domain, vocab, clients)
                final[name] = hit
        self.src = [final[name] for _id, name in sources]
        self.tgt = [final[name] for _id, name in targets]
        # Word lists hold each word once (_repair), so counting words counts names.
        df = Counter(chain.from_iterable(self.src))
        df.update(chain.from_iterable(self.tgt))
        n = len(self.src) + len(self.tgt) + 1
        # log(1 + N/df): a word in every name still weighs a little; a unique one the most.
        self.weight = {w: math.log1p(n / c) for w, c in df.items()}
        self.max_weight = math.log1p(n)
        self.similar = similarity_function()

    def w(self, word: str) -> float:
        return self.weight.get(word, self.max_weight)


_LONG_NOISE = [w for w in NOISE if len(w) >= 5]


def _is_noise_typo(word: str) -> bool:
    similar = similarity_function()
    return any(similar(word, n) >= NOISE_SIMILAR for n in _LONG_NOISE)


def _repair(ws: list[str], domain: bool, vocab: set[str], clients: set[str]) -> tuple[str, ...]:
    """Split run-together words ("carterfamilydentistry") and join split ones ("clear water",
    "50 gb" when a client's name says "clearwater", "50GB")."""
    out: list[str] = []
    for w in ws:
        if w not in clients and len(w) >= 5 and _is_noise_typo(w):
            continue  # a misspelt legal word ("Corportion")
        if w not in vocab and (domain or len(w) >= 10):
            parts = split_run_together(w, vocab)
            if parts:
                out.extend(p for p in parts if p not in NOISE)
                continue
        out.append(w)
    i = 0
    while i < len(out) - 1:
        joined = out[i] + out[i + 1]
        if out[i] not in clients or out[i + 1] not in clients:
            if joined in clients:
                out[i : i + 2] = [joined]
                continue
        i += 1
    # Order is kept (the reason reads naturally); repeats count once.
    return tuple(dict.fromkeys(out)) or tuple(ws)


def similarity_function() -> Callable[[str, str], float]:
    """Spelling similarity of two words, 0–1: rapidfuzz's Indel in C. Imported on first use,
    not at module level: numpy + rapidfuzz cost ~200 ms of app start-up."""
    from rapidfuzz.distance import Indel

    return Indel.normalized_similarity
