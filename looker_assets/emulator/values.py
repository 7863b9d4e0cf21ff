"""Deterministic building blocks for generated content: timestamps, names, titles, slugs."""

from __future__ import annotations

import hashlib
import random
import time

# 2019-01-01 .. 2025-09-01: the window generated content was "created" and "updated" in.
EPOCH_START = 1546300800
EPOCH_END = 1756684800

FIRST_NAMES = (
    "Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Ken", "Frances", "José", "Zoë",
    "Ægir", "Søren", "Björk", "Łukasz", "Chloé", "François", "Noémie", "Mateus", "Priya", "Wei",
    "山田", "さくら", "Дмитрий", "Αθηνά", "محمد", "Olúwaseun", "Nguyễn", "Siobhán", "Jürgen", "Ana",
)  # fmt: skip
LAST_NAMES = (
    "Lovelace", "Hopper", "Torvalds", "Hamilton", "Turing", "Liskov", "Thompson", "Allen",
    "O'Brien", "García", "Müller", "Ørsted", "Dvořák", "Nakamura", "太郎", "Иванова", "Παππάς",
    "Smith-Jones", "van der Berg", "D'Angelo", "Kowalski", "Nguyen", "Okafor", "Schäfer",
)  # fmt: skip
TOPICS = (
    "Revenue", "Sales", "Marketing", "Churn", "Retention", "Inventory", "Logistics", "Support",
    "Finance", "Pipeline", "Web Traffic", "Orders", "Customers", "Product Usage", "Ops", "HR",
    "Umsatz Übersicht", "Ventas — año fiscal", "売上ダッシュボード", "Продажи", "Ελληνικά KPI",
    "المبيعات", "Café & Crème", "Q3 \"Board\" Review", "Back\\slash <report>", "Tabs\tand spaces",
)  # fmt: skip
QUALIFIERS = (
    "Overview", "Deep Dive", "Weekly", "Monthly", "Daily", "Executive", "by Region", "Trends",
    "KPIs", "Funnel", "Cohorts", "Forecast", "YoY", "Detail", "Summary", "(old)", "v2", "— draft",
)  # fmt: skip
EMOJI = ("📈", "🚀", "💰", "🔥", "✅", "⚠️", "👩‍💻", "🇩🇪", "🧪", "📊", "🎯", "🐛")
REGIONS = ("EMEA", "APAC", "AMER", "LATAM", "DACH", "Nordics", "ANZ")
TIMEZONES = ("UTC", "America/Los_Angeles", "Europe/Berlin", "Asia/Tokyo", "Australia/Sydney")
SLUG_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def rng_for(seed: int, *parts: object) -> random.Random:
    """An RNG that depends only on the seed and the object's identity (stable across runs)."""
    digest = hashlib.blake2b(repr((seed, *parts)).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def ts(epoch: float) -> str:
    """Looker's timestamp style: 2025-03-04T05:06:07.000+00:00."""
    whole = int(epoch)
    t = time.gmtime(whole)
    ms = round((epoch - whole) * 1000) % 1000
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{ms:03d}+00:00"
    )


def random_epoch(rng: random.Random, start: float = EPOCH_START, end: float = EPOCH_END) -> int:
    return rng.randint(int(start), int(max(start, end)))


_SLUG64 = SLUG_CHARS + "Qz"  # 64 symbols: one 6-bit draw per character


def slug(rng: random.Random, n: int = 22) -> str:
    # One getrandbits call instead of n choice() calls: slugs are in every dashboard tile.
    bits = rng.getrandbits(6 * n)
    return "".join(_SLUG64[(bits >> (6 * i)) & 63] for i in range(n))


def title(rng: random.Random, noun: str) -> str:
    """A content title; a share carries emoji, non-Latin scripts, quotes or odd whitespace."""
    roll = rng.random()
    base = f"{rng.choice(TOPICS)} {rng.choice(QUALIFIERS)}"
    if roll < 0.12:
        return f"{base} {rng.choice(EMOJI)}"
    if roll < 0.16:
        return f"{rng.choice(EMOJI)} {noun} {rng.choice(REGIONS)}"
    if roll < 0.18:
        return f"  {base}  "  # stray whitespace survives in real titles
    if roll < 0.19:
        return f"{base} " + "very long title " * 12
    if roll < 0.24:
        return f"{base} \u2013 {rng.choice(REGIONS)}"  # en dash
    return base


def person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def ascii_handle(text: str, n: int) -> str:
    """A lowercase ASCII token for e-mail addresses and names (non-ASCII dropped)."""
    out = "".join(c for c in text.lower() if c.isascii() and c.isalnum())
    return out or f"user{n}"


def git_sha(*parts: object) -> str:
    """A git-style commit id (40 hex digits) that depends only on `parts`."""
    # sha1 because git commit ids are sha1-sized; nothing here is security-relevant.
    return hashlib.sha1(repr(parts).encode(), usedforsecurity=False).hexdigest()
