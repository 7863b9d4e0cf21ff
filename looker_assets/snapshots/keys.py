"""age keys: public recipients to encrypt to (all a sync host needs), and identities (secret
keys, read from a file only to pull or verify). Secrets never leave this module in messages."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pyrage import RecipientError, x25519

from looker_assets.snapshots import IDENTITY_ENV, RECIPIENT_ENV, SnapshotError


def fingerprint(recipient: str) -> str:
    """A short, stable name of a public key for manifests and logs."""
    return "age-sha256:" + hashlib.sha256(recipient.strip().encode()).hexdigest()[:16]


def parse_recipients(given: Iterable[str] | None) -> list[Any]:
    """--recipient values, else LOOKER_ASSETS_SNAPSHOT_RECIPIENT (comma or space separated)."""
    texts = [t for value in (given or []) for t in value.replace(",", " ").split()]
    if not texts:
        texts = os.environ.get(RECIPIENT_ENV, "").replace(",", " ").split()
    recipients = []
    for text in texts:
        if not text.startswith("age1"):
            raise SnapshotError(f"recipient {text[:12]}… is not an age X25519 public key "
                                f"(age1…); never pass a secret key (AGE-SECRET-KEY-…) here")
        try:
            recipients.append(x25519.Recipient.from_str(text))
        except RecipientError as exc:
            raise SnapshotError(f"recipient {text[:12]}… is not a valid age public key: "
                                f"{exc}") from None
    return recipients


def load_identities(path: str | Path | None) -> list[Any] | None:
    """The identities in --identity FILE, else in the file LOOKER_ASSETS_SNAPSHOT_IDENTITY
    names; None when neither is given. The file is age-keygen's output (comments allowed)."""
    path = path or os.environ.get(IDENTITY_ENV) or None
    if path is None:
        return None
    file = Path(path).expanduser()
    try:
        lines = file.read_text().splitlines()
    except OSError as exc:
        raise SnapshotError(f"cannot read identity file {file}: {exc.strerror}") from None
    identities = []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            identities.append(x25519.Identity.from_str(line))
        except Exception:  # the line is a secret: its text stays out of the message
            raise SnapshotError(f"line {number} of identity file {file} is not an age X25519 "
                                f"secret key (AGE-SECRET-KEY-1…)") from None
    if not identities:
        raise SnapshotError(f"identity file {file} holds no age secret key")
    return identities


def identity_fingerprints(identities: list[Any]) -> set[str]:
    return {fingerprint(str(identity.to_public())) for identity in identities}
