"""A deterministic evaluation set for auto-match, and the figures it is judged by.

Two lists as an MSP really meets them: its PSA's clients (~1,000 names: surnames, places, trades,
legal suffixes) and a vendor's customer list (~1,000 names) that spells most of the same
companies its own way — case, legal suffix dropped or changed, ``&``/and, Mgmt/Assoc/Svcs, "The",
site descriptors ("- Main Office"), tenant domains ("carterfamilydentistry.com",
"lakesidefinancial.onmicrosoft.com"), one-letter typos — plus vendor customers that are *not* in
the PSA at all, most of them look-alikes of a client (same trade words, a shared surname, a
place spelled almost the same: "Lakeside" for "Parkside"). The four wrong pairs issue #19 quotes
are in it verbatim.

``build(seed)`` returns the set; ``evaluate(pairs, truth, threshold)`` the precision and recall
of suggestions at a confidence threshold; ``big_name_lists(n)`` the big speed case. Used by
``tests/services/test_match_quality.py``, ``tests/services/test_suggest.py`` and by
``python -m bench --only match``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache

SURNAMES = tuple(
    """
Miller Hayes Carter Bennett Foster Reed Sullivan Parker Morgan Brooks Ward Hughes Price Russell
Griffin Coleman Jenkins Perry Powell Patterson Flores Nguyen Patel Kim Garcia Rossi Schmidt
O'Brien Murphy Whitaker Lindqvist Okafor Delgado Fischer Harrington Castillo Bishop Holloway Vance
Thornton Reyes Riley Klein Chen Salazar Wagner Becker Hoffman Novak Kowalski Larsen Jensen Moreno
Ortiz Romero Alvarez Ramirez Torres Rivera Gomez Diaz Cruz Mendoza Vasquez Kaufman Weiss Schultz
Brennan Gallagher Doyle Keane Walsh Fitzgerald Dunn Lynch Burke Quinn Stewart Campbell Fraser
MacLeod Douglas Graham Ferguson Hamilton Sinclair Whitfield Ashford Pemberton Langley Prescott
Hargrove Caldwell Lowry Merritt Ellison Navarro Santos Ibarra Acosta Cabrera Yamamoto Tanaka Sato
Nakamura Park Choi Singh Sharma Gupta Mehta Kapoor Abbott Barlow Chandler Dalton Everett Fleming
Gibson Harlow Ingram Jarvis Kendall Lambert Mercer Norris Oakley Preston Quincy Radford Sheridan
Tate Underwood Vaughn Winslow Yates Zimmerman
""".split()
)
PLACES = tuple(
    """
Lakeside Parkside Clearwater Riverside Hillside Brookside Bayview Lakeview Fairview Westfield
Eastfield Northgate Southgate Springfield Greenfield Oakwood Elmwood Pinecrest Cedarcrest
Maplewood Stonebridge Millbrook Ashland Salem Franklin Arlington Clayton Dover Milford Newport
Oxford Burlington Lexington Greenville Bristol Auburn Hudson Madison Georgetown Summit Granite
Harbor Coastal Prairie Meadowbrook Willowbrook Silverlake Redwood Bluewater Highland Lowland
Evergreen Sunrise Sunset Keystone Cornerstone Beacon Pioneer Liberty Heritage Frontier Canyon
Mesa Sierra Cascade Tidewater Ironwood Copperfield Rockport Bridgeport Kingsport Westport
""".split()
)
TRADES = [
    t.strip()
    for t in """
Family Dentistry, Dental Care, Pediatric Dentistry, Orthodontics, Veterinary Clinic,
Animal Hospital, Physical Therapy, Chiropractic, Family Medicine, Medical Group, Home Health,
Pharmacy, Optometry, Financial Advisors, Wealth Management, Financial Group, Insurance Agency,
Accounting, Tax Services, Bookkeeping Services, Property Management, Realty, Real Estate Group,
Title Company, Mortgage, Construction, Builders, Roofing, Plumbing, Electric, Heating and Air,
Landscaping, Engineering, Architects, Consulting Group, Marketing, Printing, Auto Repair,
Collision Center, Motors, Bakery, Brewing Company, Catering, Hospitality, Logistics, Freight,
Trucking, Manufacturing, Machine Works, Supply Company, Distribution, Staffing Services,
Environmental Services, Cleaning Services, Law Firm, Legal Group, Law Offices, CPAs,
Associates, Management Group, Technologies, Laboratories, Farms, Foods, Academy, Church,
Fitness, Salon and Spa, Funeral Home, Storage, Marine, Aviation
""".split(",")
]
LEGAL = ["LLC", "Inc.", "Inc", "Corporation", "Corp.", "Ltd", "Co.", "PLLC", "LLP", "P.C.", ""]
#: Words a vendor's billing system shortens.
SHORT = {
    "Management": "Mgmt",
    "Associates": "Assoc.",
    "Services": "Svcs",
    "Company": "Co.",
    "Corporation": "Corp.",
    "Incorporated": "Inc.",
    "International": "Intl",
    "Center": "Ctr",
    "Brothers": "Bros",
}
SITES = [" - Main Office", " - HQ", " (Main Office)", " - Downtown", " - North Campus", " (HQ)"]
#: The wrong pairs issue #19 quotes: (vendor customer, the different PSA client it was matched to).
ISSUE_EXAMPLES = [
    ("LAKESIDE FINANCIAL ADVISORS", "Parkside Financial Advisors LLP"),
    ("Carter Family Dentistry PLLC", "Clearwater Family Dentistry Inc."),
    ("Klein & Salazar Property Mgmt LLP", "Chen & Salazar Property Management LLP"),
    ("Reyes Physical Therapy Inc", "Riley Physical Therapy Inc"),
]


@dataclass(frozen=True)
class EvalSet:
    clients: list[tuple[str, str]]  # PSA: (client id, name)
    customers: list[tuple[str, str]]  # vendor: (customer id, name)
    truth: dict[str, str | None]  # customer id -> client id, or None (not in the PSA)


def _key(name: str) -> str:
    """Identity of a generated name for uniqueness (before any spelling variation)."""
    words = name.casefold().replace("&", " and ").replace(",", "").replace(".", "").split()
    noise = {"llc", "inc", "ltd", "co", "pllc", "llp", "pc", "corp", "corporation", "the", "and"}
    # Order-free: "Klein & Fleming" and "Fleming & Klein" are taken to be one firm.
    return " ".join(sorted(w for w in words if w not in noise))


def _core(rng: random.Random) -> str:
    """A company's identifying name, without legal suffix."""
    p = rng.random()
    if p < 0.3:
        return f"{rng.choice(SURNAMES)} {rng.choice(TRADES)}"
    if p < 0.55:
        return f"{rng.choice(PLACES)} {rng.choice(TRADES)}"
    if p < 0.72:
        a, b = rng.sample(SURNAMES, 2)
        return f"{a} {rng.choice(['&', 'and'])} {b} {rng.choice(TRADES)}"
    if p < 0.82:
        return f"{rng.choice(PLACES)} {rng.choice(SURNAMES)} {rng.choice(TRADES)}"
    if p < 0.9:
        return f"The {rng.choice(SURNAMES)} Group"
    return f"{rng.choice(SURNAMES)} {rng.choice(['Brothers', 'and Sons', 'Family'])} " + rng.choice(
        TRADES
    )


def _with_legal(core: str, rng: random.Random) -> str:
    suffix = rng.choice(LEGAL)
    return f"{core} {suffix}" if suffix else core


def _lookalike(core: str, rng: random.Random) -> str:
    """A different company sharing the trade words (and maybe a surname): one identifying
    word swapped for another of its kind."""
    words = core.split()
    idx = [i for i, w in enumerate(words) if w in SURNAMES or w in PLACES]
    if not idx:
        return f"{rng.choice(PLACES)} {core}"
    i = rng.choice(idx)
    pool = SURNAMES if words[i] in SURNAMES else PLACES
    # Half the time a word spelled almost the same (Lakeside/Parkside, Reyes/Riley): the
    # look-alikes a character-level similarity falls for.
    near = _spelled_alike(words[i], pool)
    words[i] = rng.choice(near if rng.random() < 0.5 else [w for w in pool if w != words[i]])
    return " ".join(words)


@cache
def _spelled_alike(word: str, pool: list[str] | tuple[str, ...]) -> list[str]:
    ranked = sorted(
        (w for w in pool if w != word),
        key=lambda w: (-SequenceMatcher(None, word.lower(), w.lower()).ratio(), w),
    )
    return ranked[:3]


def _typo(name: str, rng: random.Random) -> str:
    words = name.split()
    long = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
    if not long:
        return name
    i = rng.choice(long)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        w = w[:j] + w[j + 1 :]  # dropped letter
    elif kind == 1:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]  # swapped letters
    else:
        w = w[:j] + w[j] + w[j:]  # doubled letter
    words[i] = w
    return " ".join(words)


def _domain(core: str, rng: random.Random) -> str:
    words = [w for w in core.replace("&", "and").replace("'", "").split() if w != "The"]
    if len(words) > 2 and rng.random() < 0.4:
        words = words[:-1]  # "lakesidefinancial" for Lakeside Financial Advisors
    label = "".join(words).lower()
    return rng.choice(
        [f"{label}.com", f"{label}.onmicrosoft.com", f"www.{label}.com", f"{label}.net"]
    )


def vendor_spelling(core: str, full: str, rng: random.Random) -> str:
    """How a vendor's billing system spells the company whose PSA name is ``full``."""
    roll = rng.random()
    if roll < 0.12:
        return _domain(core, rng)
    out = core
    if rng.random() < 0.5:
        for long, short in SHORT.items():
            out = out.replace(long, short)
    if rng.random() < 0.3:
        out = out.replace(" & ", " and ") if " & " in out else out.replace(" and ", " & ")
    if out.startswith("The ") and rng.random() < 0.5:
        out = out[4:]
    elif rng.random() < 0.05:
        out = "The " + out
    out = _with_legal(out, rng) if rng.random() < 0.6 else out
    if rng.random() < 0.08:
        out += rng.choice(SITES)
    if rng.random() < 0.15:
        out = _typo(out, rng)
    case = rng.random()
    if case < 0.15:
        out = out.upper()
    elif case < 0.22:
        out = out.lower()
    return out


def build(seed: int = 19, n_clients: int = 1000, n_vendor_only: int = 150) -> EvalSet:
    """The PSA list, the vendor list (~90 % of the clients plus ``n_vendor_only`` customers the
    PSA does not have, mostly look-alikes) and the truth."""
    rng = random.Random(seed)
    seen: set[str] = set()
    cores: list[str] = []

    def add(core: str) -> bool:
        k = _key(core)
        if k in seen:
            return False
        seen.add(k)
        cores.append(core)
        return True

    for _vendor, client in ISSUE_EXAMPLES:
        add(client.rsplit(" ", 1)[0].replace(" Inc", ""))
    while len(cores) < n_clients:
        core = _core(rng)
        add(core)
        # Look-alike clients: a different company with the same trade words, often.
        if rng.random() < 0.35 and len(cores) < n_clients:
            add(_lookalike(core, rng))
    clients = [(f"c{i:04d}", _with_legal(c, rng)) for i, c in enumerate(cores)]
    for i, (_vendor, client) in enumerate(ISSUE_EXAMPLES):
        clients[i] = (f"c{i:04d}", client)

    customers: list[tuple[str, str]] = []
    truth: dict[str, str | None] = {}
    for (cid, full), core in zip(clients, cores, strict=True):
        if rng.random() < 0.1:
            continue  # a client the vendor does not bill
        vid = f"v{len(customers):04d}"
        customers.append((vid, vendor_spelling(core, full, rng)))
        truth[vid] = cid
    only: list[str] = [vendor for vendor, _client in ISSUE_EXAMPLES]
    while len(only) < n_vendor_only:
        core = _lookalike(rng.choice(cores), rng) if rng.random() < 0.8 else _core(rng)
        k = _key(core)
        if k in seen:
            continue
        seen.add(k)
        only.append(vendor_spelling(core, core, rng) if rng.random() < 0.5 else core)
    for name in only:
        vid = f"v{len(customers):04d}"
        customers.append((vid, name))
        truth[vid] = None
    rng.shuffle(customers)
    return EvalSet(clients, customers, truth)


@dataclass(frozen=True)
class Figures:
    threshold: int
    suggested: int  # suggestions at or above the threshold
    correct: int
    wrong: int  # paired with the wrong client
    no_counterpart: int  # customers not in the PSA suggested at or above the threshold
    findable: int  # customers that have a PSA counterpart

    @property
    def precision(self) -> float:
        return self.correct / self.suggested if self.suggested else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.findable if self.findable else 1.0

    def line(self) -> str:
        return (
            f"at {self.threshold} %: precision {self.precision:.1%} "
            f"({self.wrong + self.no_counterpart} wrong of {self.suggested}, "
            f"{self.no_counterpart} without a counterpart), recall {self.recall:.1%} "
            f"({self.correct} of {self.findable})"
        )


def evaluate(
    pairs: list[tuple[str, str, int]], truth: dict[str, str | None], threshold: int
) -> Figures:
    """``pairs`` are (customer id, client id, confidence) suggestions."""
    hits = [(s, t) for s, t, c in pairs if c >= threshold]
    correct = sum(1 for s, t in hits if truth.get(s) == t)
    none = sum(1 for s, _t in hits if truth.get(s) is None)
    return Figures(
        threshold=threshold,
        suggested=len(hits),
        correct=correct,
        wrong=len(hits) - correct - none,
        no_counterpart=none,
        findable=sum(1 for v in truth.values() if v is not None),
    )


def big_name_lists(n: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``n`` vendor spellings or one-letter typos (sources, shuffled) of ``n`` client names
    (targets), seeded: the 50,000 × 50,000 speed case of the bench and of test_suggest."""
    from gradient_desktop.sandbox.names import company_names, vendor_spelling

    rng = random.Random(7)
    names = company_names(rng, n, unique=False)
    targets = [(f"c{i}", x) for i, x in enumerate(names)]

    def typo(s: str) -> str:
        i = rng.randrange(len(s))
        return s[:i] + s[i + 1 :]

    sources = [
        (f"a{i}", typo(x) if rng.random() < 0.3 else vendor_spelling(x, rng))
        for i, x in enumerate(names)
    ]
    rng.shuffle(sources)
    return sources, targets
