"""Auto-match suggestions: which Gradient client is probably which vendor account, by name.

A suggestion must never pair two different companies that merely share trade words
("Lakeside Financial Advisors" is not "Parkside Financial Advisors LLP"), so names are scored by
the words that *identify* a company:

1. Names become words (``match_names.words``: case, punctuation, legal suffixes, ``&``/and,
   abbreviations, site descriptors, tenant domains). Run-together domain labels are split
   against the vocabulary of both lists ("carterfamilydentistry" → carter family dentistry).
2. Each word weighs by how rare it is across both lists (inverse document frequency): a surname
   or place that names one or two companies outweighs "Family Dentistry" shared by fifty.
3. Equal word lists pair at once (confidence 100). Every other account is compared only with
   *candidates* that share one of its two rarest words (or a close spelling of it), pre-ranked
   in C by rapidfuzz, so 50,000 × 50,000 names stay far from the 2.5 billion pairs of a full
   cross product. The few best candidates are then scored word by word: matched weight over
   total weight (a typo'd word counts by its spelling similarity), so a differing identifying
   word sinks the score however long the shared generic part is.
4. Margin rule: when the second-best client scores close to the best, neither is certain; the
   suggestion stays below the auto-accept threshold and says why ("2 similar clients: …").

Every suggestion carries its reason (the words that matched), shown in the grid. Qt-free; the
grid runs it in a worker thread for big lists.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from gradient_desktop.services.match_names import Names, normalise

__all__ = ["AUTO_ACCEPT", "Suggestion", "above", "normalise", "suggest"]

#: The grid's default "accept all ≥" threshold; ambiguous suggestions stay below it.
AUTO_ACCEPT = 90
#: Confidence of the same words in another order.
SAME_WORDS = 95
#: Best and second-best closer than this (points) are ambiguous.
MARGIN = 6
#: Candidates per account kept from the C pre-ranking for word-by-word scoring.
TOP_K = 3
#: Blocks (accounts sharing a word) larger than this are skipped: such a word does not identify.
MAX_BLOCK = 4000
#: Two spellings of one word at least this similar (0–1) count as the same word, by that much.
WORD_SIMILAR = 0.8
#: The same for words shorter than six letters.
SHORT_WORD_SIMILAR = 0.88
#: Sources scored per rapidfuzz call (bounds the score matrix: CHUNK × block, uint8).
CHUNK = 1024


@dataclass(frozen=True, slots=True)
class Suggestion:
    """``source_id`` probably is ``target_id``; ``confidence`` 0–100; ``reason`` says why."""

    source_id: str
    target_id: str
    confidence: int
    reason: str = ""


def _needed(a: str, b: str) -> float:
    # Short words need to be closer: "Sato" is not a typo of "Santos" (0.8), "Ibrra" is one of
    # "Ibarra" (0.91).
    return WORD_SIMILAR if min(len(a), len(b)) >= 6 else SHORT_WORD_SIMILAR


Fuzzy = list[tuple[str, str, float]]


def score(a: tuple[str, ...], b: tuple[str, ...], names: Names) -> tuple[float, Fuzzy]:
    """How sure we are that word lists ``a`` (account) and ``b`` (client) name one company
    (0–1), and the misspelt words it paired. Weighted: matched weight over total weight,
    averaged with how much of the account's words the client has."""
    weight, top = names.weight, names.max_weight
    common = set(a).intersection(b)
    fuzzy: Fuzzy = []
    if len(common) < len(a) and len(common) < len(b):
        fuzzy = _misspelt(
            [x for x in a if x not in common], [y for y in b if y not in common], names.similar
        )
    # A misspelt word weighs what its correct spelling (the client's) weighs: a typo is not
    # rarer than the word it spoils.
    as_b = {x: weight.get(y, top) for x, y, _s in fuzzy}
    total_a = total_b = matched = 0.0
    for x in a:
        wx = as_b.get(x) or weight.get(x, top)
        total_a += wx
        if x in common:
            matched += 2 * wx
    for y in b:
        total_b += weight.get(y, top)
    for _x, y, s in fuzzy:
        matched += 2 * s * weight.get(y, top)
    if not matched:
        return 0.0, fuzzy
    dice = matched / (total_a + total_b)
    # How much of the account's name the client covers: a domain or a short spelling often
    # drops a trailing word of the client's name; an account with an extra identifying word
    # of its own is more likely another company.
    cover = min(1.0, matched / (2 * total_a))
    return (dice + cover) / 2, fuzzy


def _misspelt(rest_a: list[str], rest_b: list[str], similar: Callable[[str, str], float]) -> Fuzzy:
    """Pairs of words spelled alike enough to be one word misspelt, best first, each word in
    one pair at most."""
    pairs = sorted(
        (
            (s, x, y)
            for x in rest_a
            if len(x) >= 4
            for y in rest_b
            if len(y) >= 4 and (s := similar(x, y)) >= _needed(x, y)
        ),
        reverse=True,
    )
    used_a: set[str] = set()
    used_b: set[str] = set()
    fuzzy: Fuzzy = []
    for s, x, y in pairs:
        if x not in used_a and y not in used_b:
            used_a.add(x)
            used_b.add(y)
            fuzzy.append((x, y, s))
    return fuzzy


def reason(a: tuple[str, ...], b: tuple[str, ...], fuzzy: Fuzzy) -> str:
    """Why ``a`` was matched to ``b``, in words: "matched carter, dentistry; client also has:
    family"."""
    common = set(a).intersection(b)
    said = [x for x in a if x in common] + [f"{x}≈{y}" for x, y, _s in fuzzy]
    fuzzy_a = {x for x, _y, _s in fuzzy}
    fuzzy_b = {y for _x, y, _s in fuzzy}
    extra_a = " ".join(x for x in a if x not in common and x not in fuzzy_a)
    extra_b = " ".join(y for y in b if y not in common and y not in fuzzy_b)
    text = "matched " + ", ".join(said)
    if extra_a and extra_b:
        return f"{text}; differs: {extra_a} / {extra_b}"
    if extra_b:
        return f"{text}; client also has: {extra_b}"
    if extra_a:
        return f"{text}; account also has: {extra_a}"
    return text


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
    names = Names(sources, targets)
    # Equal word lists are judged once: at 50,000 names many spellings repeat.
    s_keys, s_groups = _groups(names.src)
    t_keys, t_groups = _groups(names.tgt)
    by_set: dict[frozenset[str], list[int]] = defaultdict(list)
    for v, ws in enumerate(t_keys):
        by_set[frozenset(ws)].append(v)
    verdict: dict[int, tuple[int, int, str]] = {}  # source key -> (confidence, target key, why)
    pending: list[int] = []
    for u, ws in enumerate(s_keys):
        same = by_set.get(frozenset(ws)) if ws else None
        if not same:
            pending.append(u)
        elif ws in (t_keys[v] for v in same):
            verdict[u] = (
                100,
                next(v for v in same if t_keys[v] == ws),
                f"same name: {' '.join(ws)}",
            )
        else:  # "Klein & Fleming" for "Fleming & Klein": usually one firm, not certainly
            verdict[u] = (SAME_WORDS, same[0], "same words in another order")
    for u, cands in _candidates(pending, s_keys, t_keys, t_groups, names).items():
        hit = _judge(s_keys[u], cands, t_keys, t_groups, names, targets)
        if hit is not None:
            verdict[u] = hit

    best: list[tuple[int, int, int, str]] = []  # (-confidence, source, target, reason)
    used: Counter[int] = Counter()
    for u, (confidence, v, reason) in verdict.items():
        if confidence < min_confidence:
            continue
        pool = t_groups[v]
        if len(pool) == 1:
            best.extend((-confidence, i, pool[0], reason) for i in s_groups[u])
            continue
        # Equal names on both sides pair up in order (two "Smith Dental" ↔ two clients), but
        # which is which is a guess: below the auto-accept threshold.
        why = f"{len(pool)} clients have this name: check which"
        capped = -min(confidence, AUTO_ACCEPT - 1)
        for i in s_groups[u]:
            n = used[v]
            used[v] = n + 1
            j = pool[min(n, len(pool) - 1)] if one_per_target else pool[0]
            best.append((capped, i, j, why))

    best.sort()  # most confident first, then in source order
    taken: set[int] = set()
    out: list[Suggestion] = []
    for neg_confidence, i, j, reason in best:
        confidence = -neg_confidence
        if confidence < min_confidence:
            continue
        if one_per_target:
            if j in taken:
                continue
            taken.add(j)
        out.append(Suggestion(sources[i][0], targets[j][0], confidence, reason))
    return out


def _groups(keys: list[tuple[str, ...]]) -> tuple[list[tuple[str, ...]], list[list[int]]]:
    """Distinct word lists (first-seen order) and the positions holding each."""
    where: dict[tuple[str, ...], list[int]] = {}
    for i, k in enumerate(keys):
        where.setdefault(k, []).append(i)
    return list(where), list(where.values())


def _judge(
    a: tuple[str, ...],
    cands: Iterable[int],
    t_keys: list[tuple[str, ...]],
    t_groups: list[list[int]],
    names: Names,
    targets: Sequence[tuple[str, str]],
) -> tuple[int, int, str] | None:
    """Score one account's candidates word by word; apply the margin rule."""
    scored = []
    for v in cands:
        value, fuzzy = score(a, t_keys[v], names)
        if value > 0:
            scored.append((min(99, round(100 * value)), -v, fuzzy))
    if not scored:
        return None
    scored.sort(key=lambda item: item[:2], reverse=True)
    confidence, neg_v, fuzzy = scored[0]
    if len(scored) > 1 and scored[1][0] >= confidence - MARGIN:
        first = targets[t_groups[-neg_v][0]][1]
        second = targets[t_groups[-scored[1][1]][0]][1]
        why = f"2 similar clients: {_short(first)}, {_short(second)}"
        return min(confidence, AUTO_ACCEPT - 1), -neg_v, why
    return confidence, -neg_v, reason(a, t_keys[-neg_v], fuzzy)


def _short(name: str, limit: int = 40) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _candidates(
    pending: list[int],
    s_keys: list[tuple[str, ...]],
    t_keys: list[tuple[str, ...]],
    t_groups: list[list[int]],
    names: Names,
) -> dict[int, set[int]]:
    """For each pending account, the clients worth scoring word by word: those sharing one of
    its two rarest words (or a close spelling), the best ``TOP_K`` per block by rapidfuzz."""
    postings: dict[str, list[int]] = defaultdict(list)
    for v, ws in enumerate(t_keys):
        for x in ws:
            postings[x].append(v)
    near: dict[str, str | None] = {}
    vocab = list(postings)
    by_block: dict[str, list[int]] = defaultdict(list)
    for u in pending:
        picked = 0
        for x in sorted(s_keys[u], key=names.w, reverse=True):
            if x not in postings:
                if x not in near:
                    near[x] = _nearest(x, vocab)
                x = near[x] or ""
            # A block's size counts distinct client names (equal names are one).
            if x and len(postings[x]) <= MAX_BLOCK:
                by_block[x].append(u)
                picked += 1
                if picked == 2:
                    break
    out: dict[int, set[int]] = defaultdict(set)
    for token, src in by_block.items():
        cands = postings[token]
        if len(cands) <= TOP_K:
            for u in src:
                out[u].update(cands)
            continue
        _prerank(src, cands, s_keys, t_keys, out)
    return out


def _nearest(word: str, vocab: list[str]) -> str | None:
    """The vocabulary word closest in spelling to a word no client has (a typo), if close."""
    if len(word) < 4:
        return None
    from rapidfuzz import fuzz, process

    hit = process.extractOne(word, vocab, scorer=fuzz.ratio, score_cutoff=100 * WORD_SIMILAR)
    return hit[0] if hit else None


def _prerank(
    src: list[int],
    cands: list[int],
    s_keys: list[tuple[str, ...]],
    t_keys: list[tuple[str, ...]],
    out: dict[int, set[int]],
) -> None:
    """Keep the ``TOP_K`` best candidates of each account in one block, ranked in C."""
    # Imported here, not at module level: numpy + rapidfuzz cost ~200 ms of app start-up.
    import numpy as np
    from rapidfuzz import fuzz, process

    choices = [" ".join(t_keys[v]) for v in cands]
    k = TOP_K
    for start in range(0, len(src), CHUNK):
        part = src[start : start + CHUNK]
        scores = process.cdist(
            [" ".join(s_keys[u]) for u in part],
            choices,
            scorer=fuzz.ratio,
            dtype=np.uint8,
            workers=-1,
        )
        top = np.argpartition(scores, -k, axis=1)[:, -k:]
        for u, row in zip(part, top.tolist(), strict=True):
            out[u].update(cands[c] for c in row)


def above(suggestions: Iterable[Suggestion], threshold: int) -> list[Suggestion]:
    """The suggestions an "accept all ≥ threshold" takes."""
    return [s for s in suggestions if s.confidence >= threshold]
