"""The auto-match as it was before issue #19 (kept only as the benchmark's baseline): character
similarity (rapidfuzz token_sort_ratio) over normalised names, blocked on shared words.

The original description follows.


Names are normalised first (case, punctuation, legal suffixes such as Inc/Corp/LLC/Ltd, "&" and
"and", common abbreviations), so "ACME Corp." and "Acme Corporation" both become "acme". Equal
keys are matched through a dict (confidence 100); the rest are scored with rapidfuzz, but only
against *candidates* that share a blocking token (the first, longest or last word of the
normalised name), so 50,000 × 50,000 names cost seconds, not the 2.5 billion comparisons of a
full cross product. Qt-free; the grid runs it in a worker thread.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: Words that say what kind of legal entity a company is, not which company it is.
_NOISE = frozenset(
    "the inc incorporated corp corporation co company llc ltd limited plc pllc llp lp gmbh "
    "and".split()
)
#: Abbreviations a billing system uses for words that are *part* of a name.
_EXPAND = {
    "svcs": "services",
    "svc": "services",
    "mgmt": "management",
    "intl": "international",
    "assoc": "associates",
    "bros": "brothers",
    "mfg": "manufacturing",
    "tech": "technologies",
}
_PUNCT = re.compile(r"[^\w\s]")
#: Blocks larger than this on both sides are skipped in the fuzzy pass: a token that common
#: says nothing about identity (and would bring back the quadratic cost).
MAX_BLOCK = 4000
#: Sources whose best fuzzy score is below this get another pass through the next block key.
SECOND_PASS_BELOW = 90
#: Sources scored per rapidfuzz call (bounds the score matrix: CHUNK × block, uint8).
CHUNK = 1024


@dataclass(frozen=True, slots=True)
class Suggestion:
    """``source_id`` probably is ``target_id``; ``confidence`` 0–100."""

    source_id: str
    target_id: str
    confidence: int


def normalise(name: str) -> str:
    """The comparable form of a company name ("ACME Corp." → "acme")."""
    text = _PUNCT.sub(" ", name.casefold().replace("&", " and ").replace("'", ""))
    words = [_EXPAND.get(w, w) for w in text.split()]
    kept = [w for w in words if w not in _NOISE]
    # A name made only of noise ("The Company") keeps its words rather than becoming "".
    return " ".join(kept or words)


def _block_keys(key: str) -> tuple[str, str, str]:
    words = key.split()
    if not words:
        return "", "", ""
    return words[0], max(words, key=len), words[-1]


def suggest(
    sources: Sequence[tuple[str, str]],
    targets: Sequence[tuple[str, str]],
    *,
    min_confidence: int = 60,
    one_per_target: bool = True,
) -> list[Suggestion]:
    """The best target for each source whose confidence reaches ``min_confidence``.

    ``sources``/``targets`` are ``(id, name)`` pairs. With ``one_per_target`` a target is
    suggested for at most one source (the most confident; ties go to the first source).
    """
    target_keys = [normalise(name) for _id, name in targets]
    exact: dict[str, list[int]] = defaultdict(list)
    for j, key in enumerate(target_keys):
        exact[key].append(j)
    used: dict[str, int] = defaultdict(int)  # how many of a key's targets are handed out

    best: dict[int, tuple[int, int]] = {}  # source index -> (confidence, target index)
    pending: list[int] = []
    source_keys = [normalise(name) for _id, name in sources]
    for i, key in enumerate(source_keys):
        pool = exact.get(key) if key else None
        if pool:
            # Equal names on both sides pair up in order (two "Smith Dental" ↔ two clients).
            n = used[key]
            best[i] = (100, pool[min(n, len(pool) - 1)] if one_per_target else pool[0])
            used[key] = n + 1
        else:
            pending.append(i)

    # Fuzzy passes over blocks: by first word, then longest word, then last word, each for
    # what is still unmatched (a typo in one word still leaves another to meet on).
    for which in (0, 1, 2):
        if not pending:
            break
        blocks: dict[str, list[int]] = defaultdict(list)
        for j, key in enumerate(target_keys):
            blocks[_block_keys(key)[which]].append(j)
        by_block: dict[str, list[int]] = defaultdict(list)
        for i in pending:
            by_block[_block_keys(source_keys[i])[which]].append(i)
        for token, src in by_block.items():
            cands = blocks.get(token)
            if not token or not cands or (len(cands) > MAX_BLOCK and len(src) > MAX_BLOCK):
                continue
            _score_block(src, cands, source_keys, target_keys, min_confidence, best)
        # Only weak or missing matches are worth a second look through the other block key.
        pending = [i for i in pending if best.get(i, (0, 0))[0] < SECOND_PASS_BELOW]

    ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))
    taken: set[int] = set()
    out: list[Suggestion] = []
    for i, (confidence, j) in ranked:
        if confidence < min_confidence:
            continue
        if one_per_target:
            if j in taken:
                continue
            taken.add(j)
        out.append(Suggestion(sources[i][0], targets[j][0], confidence))
    return out


def _score_block(
    src: list[int],
    cands: list[int],
    source_keys: list[str],
    target_keys: list[str],
    min_confidence: int,
    best: dict[int, tuple[int, int]],
) -> None:
    """Score sources against one block's candidates in C (rapidfuzz.cdist, all cores)."""
    # Imported here, not at module level: numpy + rapidfuzz cost ~200 ms of app start-up.
    import numpy as np
    from rapidfuzz import fuzz, process

    choices = [target_keys[j] for j in cands]
    for start in range(0, len(src), CHUNK):
        part = src[start : start + CHUNK]
        scores = process.cdist(
            [source_keys[i] for i in part],
            choices,
            scorer=fuzz.token_sort_ratio,
            dtype=np.uint8,
            score_cutoff=min_confidence,
            workers=-1,
        )
        cols = scores.argmax(axis=1)
        tops = scores[np.arange(len(part)), cols]
        for i, col, top in zip(part, cols.tolist(), tops.tolist(), strict=True):
            # Normalised keys differ here, so even a perfect fuzzy score stays below an exact hit.
            confidence = min(int(top), 99)
            if confidence and confidence > best.get(i, (0, 0))[0]:
                best[i] = (confidence, cands[col])


def above(suggestions: Iterable[Suggestion], threshold: int) -> list[Suggestion]:
    """The suggestions an "accept all ≥ threshold" takes."""
    return [s for s in suggestions if s.confidence >= threshold]
