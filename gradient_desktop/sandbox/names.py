"""Realistic, deterministic company names — and the ways a second system misspells them.

The demo needs two lists that describe the same companies: the MSP's PSA clients ("Acme
Corporation") and the vendor's own customer list ("ACME Corp."). `company_names` makes the
first from word lists (no Faker: the sandbox must stay dependency-free and byte-for-byte
reproducible), `vendor_spelling` derives the second, and `normalize` is what the simulated MSP
uses to auto-map accounts, so each variant rule below has an inverse there.
"""

from __future__ import annotations

import random
import re


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    """A word list written as one string (keeps the lists compact and easy to extend)."""
    return tuple(w.strip() for w in text.split(sep) if w.strip())


_ADJECTIVES = _words("""
    Blue Red Green Silver Golden Granite Cedar Maple Oak Pine Summit Coastal Northern Southern
    Evergreen Sunrise Lakeside Bayview Iron Copper Crystal Pioneer Liberty Heritage Keystone
    Cornerstone Beacon Falcon Eagle Bright Clearwater Highland Meadow Prairie Riverbend
    Stonebridge Westfield Eastgate Harvest Timber Willow Aspen
""")
_PLACES = _words("""
    Harbor Creek Point Hill Bridge Field Park Rock Grove Springs Bay Peak Valley Gate Brook
    Ridge Crossing Landing Shore Mill
""")
_INDUSTRIES = _words(
    """
    Dental, Family Dental, Pediatrics, Veterinary Clinic, Accounting, Construction, Builders,
    Realty, Properties, Logistics, Freight, Manufacturing, Plumbing, Electric, Insurance,
    Financial, Wealth Management, Medical Group, Orthodontics, Landscaping, Engineering,
    Architects, Consulting, Marketing, Printing, Auto Repair, Motors, Bakery, Brewing Company,
    Hospitality, Pharmacy, Chiropractic, Physical Therapy, Staffing Services, Technologies,
    Industries, Foods, Farms, Supply Company, Distribution, Labs, Design Studio, Academy,
    Home Health, Title Company, Property Management, Environmental Services
""",
    ",",
)
_SURNAMES = _words("""
    Miller Hayes Carter Bennett Foster Reed Sullivan Parker Morgan Brooks Ward Hughes Price
    Russell Griffin Coleman Jenkins Perry Powell Patterson Flores Nguyen Patel Kim Garcia Rossi
    Schmidt O'Brien Murphy Whitaker Lindqvist Okafor Delgado Fischer Harrington Castillo Bishop
    Holloway Vance Thornton
""")
_PROFESSIONS = _words("Law, Legal Group, CPAs, Associates, Architects, Insurance Agency", ",")
_CITIES = _words("""
    Springfield Riverside Fairview Madison Georgetown Salem Franklin Arlington Ashland Clayton
    Dover Milford Newport Oxford Burlington Lexington Greenville Bristol Auburn Hudson
""")
_BRANDS = _words("""
    Acme Vertex Nimbus Quantum Apex Zenith Stellar Orion Vanguard Pinnacle Horizon Sterling
    Paragon Meridian Atlas Catalyst Fusion
""")
_BRAND_TAILS = _words("Corporation, Industries Inc., Systems Inc., International, Company", ",")
_LEGAL = ("LLC", "Inc.", "Corporation", "Ltd", "Co.", "Incorporated", "PLLC", "LLP", "")


def _one_name(rng: random.Random) -> str:
    pattern = rng.randrange(7)
    if pattern == 0:
        name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_PLACES)} {rng.choice(_INDUSTRIES)}"
    elif pattern == 1:
        first, second = rng.sample(_SURNAMES, 2)
        joint = "and" if rng.random() < 0.3 else "&"
        return f"{first} {joint} {second} {rng.choice(_PROFESSIONS)}"
    elif pattern == 2:
        return f"{rng.choice(_BRANDS)} {rng.choice(_BRAND_TAILS)}"
    elif pattern == 3:
        name = f"{rng.choice(_SURNAMES)} {rng.choice(_INDUSTRIES)}"
    elif pattern == 4:
        return f"The {rng.choice(_SURNAMES)} Group"
    elif pattern == 5:
        name = f"{rng.choice(_CITIES)} {rng.choice(_INDUSTRIES)}"
    else:
        name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_INDUSTRIES)}"
    suffix = rng.choice(_LEGAL)
    return f"{name} {suffix}" if suffix else name


def company_names(
    rng: random.Random, n: int, *, unique: bool = True, first: tuple[str, ...] = ()
) -> list[str]:
    """`n` company names; unique within the list unless `unique=False` (faster for 50k+)."""
    names = list(first[:n])
    if not unique:
        names.extend(_one_name(rng) for _ in range(n - len(names)))
        return names
    seen = {normalize(x) for x in names}
    misses = 0
    while len(names) < n:
        candidate = _one_name(rng)
        if misses > 50:  # stays above once reached: the lists are as good as used up
            # The word lists make about 53,700 distinct names: past that, a random draw almost
            # never finds a new one (this loop used to spin forever, holding the event loop so
            # even SIGTERM went unanswered). Number the repeats instead: "Acme Corp 2".
            candidate = f"{candidate} {len(names) + 1}"
        key = normalize(candidate)
        if key not in seen:  # unique after normalization, so auto-mapping is unambiguous
            seen.add(key)
            names.append(candidate)
            misses = misses if misses > 50 else 0
        else:
            misses += 1
    return names


# --- the vendor's spelling of the same company ------------------------------------------------

_ABBREVIATIONS = (
    (" Corporation", (" Corp.", " Corp")),
    (" Incorporated", (" Inc", " Inc.")),
    (" Company", (" Co.", " Co")),
    (" Services", (" Svcs",)),
    (" Management", (" Mgmt",)),
    (" International", (" Intl",)),
    (" Associates", (" Assoc.",)),
)
_DROPPABLE = (" LLC", " Inc.", " Incorporated", " Corporation", " Ltd", " Co.", " PLLC", " LLP")


def vendor_spelling(name: str, rng: random.Random) -> str:
    """How the vendor's billing system might spell `name`: abbreviations, `&`, case, punctuation."""
    out = name
    rules = rng.sample(range(6), k=rng.choice((1, 1, 2, 2, 3)))
    for rule in rules:
        if rule == 0:
            for long, shorts in _ABBREVIATIONS:
                if long in out:
                    out = out.replace(long, rng.choice(shorts))
        elif rule == 1:
            out = out.replace(" & ", " and ") if " & " in out else out.replace(" and ", " & ")
        elif rule == 2:
            for suffix in _DROPPABLE:
                if out.endswith(suffix):
                    out = out[: -len(suffix)]
                    break
        elif rule == 3:
            words = out.split(" ")
            style = rng.randrange(3)
            if style == 0:
                words[0] = words[0].upper()  # "ACME Corporation"
                out = " ".join(words)
            elif style == 1:
                out = out.upper()
            else:
                out = out.lower()
        elif rule == 4:
            out = out.replace(".", "").replace(",", "").replace("'", "")
        elif rule == 5 and out.startswith("The "):
            out = out[4:]
        elif rule == 5:
            # stray typing: "Blue-Harbor Dental", a doubled space
            out = out.replace(" ", "-" if rng.random() < 0.5 else "  ", 1)
    return out.strip() or name


# --- the MSP's (simulated) matching -----------------------------------------------------------

_EXPAND = {
    "corp": "corporation",
    "inc": "incorporated",
    "co": "company",
    "svcs": "services",
    "mgmt": "management",
    "intl": "international",
    "assoc": "associates",
    "and": "&",
}
_NOISE = {"the", "llc", "incorporated", "corporation", "ltd", "company", "pllc", "llp"}
_PUNCT = re.compile(r"[^\w&\s]")


def normalize(name: str) -> str:
    """A canonical key: case-folded, punctuation-free, abbreviations expanded, legal suffixes gone."""
    words = _PUNCT.sub("", name.casefold().replace("-", " ")).split()
    words = [_EXPAND.get(w, w) for w in words]
    # Only strip legal noise at the ends ("Acme Company" == "Acme Co."), not inside a name.
    while words and words[-1] in _NOISE:
        words.pop()
    while words and words[0] in _NOISE:
        words.pop(0)
    return " ".join(words)
