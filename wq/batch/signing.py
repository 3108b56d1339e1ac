"""Optional signature of artifacts: an HMAC-SHA256 over the manifest with a key only the operator holds.

The manifest's own checksum and the sha256 of every file catch corruption and hand edits, but anyone who
can write the folder can recompute them. With ``WQ_ARTIFACT_KEY`` set in the environment:

- ``wq train`` adds ``hmac_sha256`` to the manifest: HMAC-SHA256 (RFC 2104, :mod:`hmac`) keyed with the
  UTF-8 bytes of the variable, over the canonical JSON of the manifest without ``manifest_sha256`` and
  ``hmac_sha256`` (sorted keys, no spaces, ASCII). The manifest lists every file's sha256, so the
  signature covers every file.
- every load (``wq forecast``, ``wq score --artifact``) refuses an artifact without a valid signature:
  one written without the key, with another key, or whose manifest was rewritten.

An artifact signed at training still loads where the key is not set: the signature is then not checked
(the checksums still are). Set the key wherever artifacts are loaded to get the protection.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from typing import Any

from wq.errors import ArtifactError, ConfigError

__all__ = ["KEY_ENV", "MIN_KEY_BYTES", "SIGNATURE", "artifact_key", "sign_manifest", "verify_manifest"]

KEY_ENV = "WQ_ARTIFACT_KEY"
MIN_KEY_BYTES = 16
SIGNATURE = "hmac_sha256"
_UNSIGNED = ("manifest_sha256", SIGNATURE)


def artifact_key(environ: Mapping[str, str] | None = None) -> bytes | None:
    """The key from ``WQ_ARTIFACT_KEY`` (None when unset). A key shorter than :data:`MIN_KEY_BYTES` bytes is
    a :class:`~wq.errors.ConfigError` (make one with ``python -c "import secrets; print(secrets.token_hex(32))"``)."""
    value = (os.environ if environ is None else environ).get(KEY_ENV)
    if value is None:
        return None
    key = value.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(
            f"{KEY_ENV} is set but has {len(key)} bytes; use at least {MIN_KEY_BYTES} random bytes, e.g. "
            "python -c \"import secrets; print(secrets.token_hex(32))\""
        )
    return key


def _signed_bytes(manifest: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in manifest.items() if k not in _UNSIGNED}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def sign_manifest(manifest: Mapping[str, Any], key: bytes) -> str:
    """HMAC-SHA256 (hex) of the manifest's canonical bytes (see the module docstring)."""
    return hmac.new(key, _signed_bytes(manifest), hashlib.sha256).hexdigest()


def verify_manifest(manifest: Mapping[str, Any], key: bytes | None, where: str) -> None:
    """With a key: the manifest must carry a signature made with it (else :class:`~wq.errors.ArtifactError`).
    Without a key: nothing to check."""
    if key is None:
        return
    given = manifest.get(SIGNATURE)
    if not isinstance(given, str):
        raise ArtifactError(f"{where}: not signed: {KEY_ENV} is set and this artifact was written without it "
                            f"(no {SIGNATURE} in its manifest); retrain it with the key")
    try:
        expected = sign_manifest(manifest, key)
    except (TypeError, ValueError):
        expected = ""
    if not hmac.compare_digest(given, expected):
        raise ArtifactError(f"{where}: its signature does not match {KEY_ENV}: signed with another key, or the "
                            "manifest was rewritten")
