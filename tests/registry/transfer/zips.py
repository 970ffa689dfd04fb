"""Take an export file apart and put it back together, to make every kind of bad file."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

from registry import transfer

# Test-only keys (MLSERVE_SIGNING_KEY wants at least 32 characters).
SIGNING_KEY = "k" * 16 + "-transfer-test-signing-key-0123456789"
OTHER_KEY = "o" * 16 + "-another-instance-signing-key-987654"

CHURN_ROWS = [
    {
        "tenure_months": t,
        "monthly_charges": None if t % 7 == 0 else 20.0 + 1.37 * t,
        "contract": ["month-to-month", "one-year", "two-year", "never-seen"][t % 4],
        "internet": ["dsl", "fiber", "none"][t % 3],
        "support_calls": t % 6,
    }
    for t in range(1, 61)
]
HOUSES_ROWS = [
    {
        "size_m2": 40.0 + 3.3 * i,
        "bedrooms": 1 + i % 5,
        "age_years": (7 * i) % 80,
        "area": ["suburb", "centre", "rural", "unknown-area"][i % 4],
    }
    for i in range(50)
]
SHOPPERS_ROWS = [[18 + i, 10.0 + 2.5 * i, 0.5 + (i % 9) * 0.7] for i in range(40)]


def unpack(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def pack(members: list[tuple[str, bytes]] | dict[str, bytes]) -> bytes:
    items = members.items() if isinstance(members, dict) else members
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in items:
            archive.writestr(name, data)
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fix_up(
    members: dict[str, bytes], *, card_too: bool = False, key: bytes | None = None
) -> dict[str, bytes]:
    """Recompute the manifest's digests (and, with card_too, the card's artifact digest;
    with key, the signature) so only the deeper checks can catch a change."""
    members = dict(members)
    artifact = members[transfer.ARTIFACT]
    if card_too:
        card = json.loads(members[transfer.CARD])
        card["artifact"]["sha256"], card["artifact"]["size"] = sha(artifact), len(artifact)
        members[transfer.CARD] = json.dumps(card).encode()
    manifest = json.loads(members[transfer.MANIFEST])
    card_bytes = members[transfer.CARD]
    manifest["files"][transfer.CARD] = {"sha256": sha(card_bytes), "size": len(card_bytes)}
    manifest["files"][transfer.ARTIFACT] = {"sha256": sha(artifact), "size": len(artifact)}
    if key is not None:
        manifest["signature"] = {
            "algorithm": "hmac-sha256",
            "value": transfer.signature(key, sha(card_bytes), sha(artifact)),
        }
    members[transfer.MANIFEST] = json.dumps(manifest).encode()
    return members


def edit_json(members: dict[str, bytes], name: str, change) -> dict[str, bytes]:
    document = json.loads(members[name])
    change(document)
    return {**members, name: json.dumps(document).encode()}


def flip(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0xFF]) + data[position + 1 :]


def encode_result(result: dict) -> dict:
    """A prediction result with every array as dtype, shape and raw bytes: equal encodings
    mean bit-for-bit equal predictions."""
    import numpy as np

    encoded = {}
    for key in ("predictions", "probabilities", "classes"):
        value = result.get(key)
        if isinstance(value, np.ndarray):
            encoded[key] = {
                "dtype": value.dtype.str,
                "shape": list(value.shape),
                "hex": np.ascontiguousarray(value).tobytes().hex(),
            }
        else:
            encoded[key] = value
    return encoded
