import os
import re
import stat
from pathlib import Path

import pytest

from camg.report.keys import load_or_create_key, participant_token, study_dir_name, team_token


def test_key_is_created_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "marts" / ".report_key"
    first = load_or_create_key(path)
    second = load_or_create_key(path)
    assert first == second
    assert len(first) == 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_short_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / ".report_key"
    path.write_text("abcd\n", encoding="ascii")
    with pytest.raises(ValueError, match="shorter"):
        load_or_create_key(path)


def test_participant_token_depends_on_key_study_and_person() -> None:
    key, other_key = b"k" * 32, b"j" * 32
    token = participant_token(key, "study_a", "p1")
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    assert token == participant_token(key, "study_a", "p1")
    assert token != participant_token(other_key, "study_a", "p1")
    assert token != participant_token(key, "study_b", "p1")
    assert token != participant_token(key, "study_a", "p2")
    # The NUL separator keeps ("ab", "c") and ("a", "bc") apart.
    assert participant_token(key, "ab", "c") != participant_token(key, "a", "bc")
    assert team_token(key, "study_a") != team_token(other_key, "study_a")


@pytest.mark.parametrize(
    ("study_id", "expected"),
    [
        ("nhanes_2015_2016", r"nhanes_2015_2016"),
        ("../../etc", r"etc-[0-9a-f]{8}"),
        ("..", r"study-[0-9a-f]{8}"),
        ("", r"study-[0-9a-f]{8}"),
        ("<script>alert(1)</script>", r"script-alert-1-script-[0-9a-f]{8}"),
        ("a/b\\c d", r"a-b-c-d-[0-9a-f]{8}"),
        ("étude", r"tude-[0-9a-f]{8}"),
    ],
)
def test_study_dir_name_is_safe(study_id: str, expected: str) -> None:
    assert re.fullmatch(expected, study_dir_name(study_id))


def test_changed_study_names_never_collide() -> None:
    assert study_dir_name("a/b") != study_dir_name("a b")
    assert study_dir_name("a-b") != study_dir_name("a/b")
