"""Report file names: keyed hashes for participants, sanitised names for studies.

A participant report's name is HMAC-SHA256(key, study and person id), so nobody can derive another
participant's file name from an id. The key lives outside `reports/` (default `data/marts/.report_key`),
is created once with mode 0600 and must never be committed or published.
"""

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

KEY_BYTES = 32
PARTICIPANT_TOKEN_CHARS = 32  # 128 bits of the HMAC: not guessable, short enough for a file name
TEAM_TOKEN_CHARS = 20
STUDY_NAME_MAX = 60
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def load_or_create_key(key_path: Path) -> bytes:
    """The report key: read it, or create it once (32 random bytes, hex, mode 0600)."""
    if not key_path.exists():
        key_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another build created it first: use theirs
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(secrets.token_hex(KEY_BYTES) + "\n")
    key = bytes.fromhex(key_path.read_text(encoding="ascii").strip())
    if len(key) < KEY_BYTES:
        raise ValueError(f"report key {key_path} is shorter than {KEY_BYTES} bytes")
    return key


def _keyed(key: bytes, *parts: str) -> str:
    """HMAC-SHA256 over the parts, joined by NUL (ids cannot contain it unambiguously)."""
    message = "\x00".join(parts).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def participant_token(key: bytes, study_id: str, person_id: str) -> str:
    """The file stem of one participant's report."""
    return _keyed(key, "participant", study_id, person_id)[:PARTICIPANT_TOKEN_CHARS]


def team_token(key: bytes, study_id: str) -> str:
    """The file stem suffix of a study's dietitian view (it lists every participant)."""
    return _keyed(key, "team", study_id)[:TEAM_TOKEN_CHARS]


def study_dir_name(study_id: str) -> str:
    """A safe folder name for an untrusted study id: `[A-Za-z0-9_-]`, never `.` or `..`.

    An id that had to be changed gets a short hash of the original, so two ids never share a folder.
    """
    safe = _UNSAFE.sub("-", study_id).strip("-")[:STUDY_NAME_MAX]
    if safe == study_id and safe:
        return safe
    digest = hashlib.sha256(study_id.encode("utf-8")).hexdigest()[:8]
    return f"{safe or 'study'}-{digest}"
