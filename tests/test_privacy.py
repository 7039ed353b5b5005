"""The personal-data policy: ID numbers leave the device masked or keyed-hashed, never raw."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import PrivacyKeyMissing
from core.privacy import IdPseudonymizer, mask_id_number
from core.strings_zh import error_text

ID = "11010119900307123X"
SECRET = b"0123456789abcdef-hall-secret"


def test_the_key_is_stable_within_a_hall_whatever_the_spelling():
    hall = IdPseudonymizer("hall-a", SECRET)
    assert hall.key(ID) == IdPseudonymizer("hall-a", SECRET).key(ID)
    assert hall.key("110101 19900307 123x") == hall.key(ID)
    assert hall.key(ID) != hall.key("110101199003071234")


def test_two_halls_give_the_same_citizen_unrelated_keys():
    # Even a secret copied to a second box does not make its keys linkable.
    assert IdPseudonymizer("hall-a", SECRET).key(ID) != IdPseudonymizer("hall-b", SECRET).key(ID)
    other_secret = IdPseudonymizer("hall-a", b"another-secret-of-hall-a").key(ID)
    assert other_secret != IdPseudonymizer("hall-a", SECRET).key(ID)


def test_a_daily_scope_makes_keys_of_different_days_unlinkable():
    hall = IdPseudonymizer("hall-a", SECRET)
    assert hall.key(ID, scope="2026-11-22") == hall.key(ID, scope="2026-11-22")
    assert hall.key(ID, scope="2026-11-22") != hall.key(ID, scope="2026-11-23")


def test_masked_and_hashed_values_never_contain_the_raw_number():
    hall = IdPseudonymizer("hall-a", SECRET)
    masked = mask_id_number(ID)
    assert masked == "110101********123X"
    for shown in (masked, hall.key(ID), hall.key(ID, "2026-11-22"), repr(hall)):
        assert ID not in shown
        assert ID.lower() not in shown
        # Nor the birth date, the part that identifies within a region.
        assert "19900307" not in shown
    assert SECRET.decode() not in repr(hall)


def test_no_secret_no_keys(tmp_path: Path):
    """Without a configured secret the box refuses to make keys rather than hash weakly."""
    for secret in (None, b"", b"short"):
        with pytest.raises(PrivacyKeyMissing) as info:
            IdPseudonymizer("hall-a", secret)
        assert info.value.code == 472
        assert "隐私密钥" in error_text(info.value)
    with pytest.raises(PrivacyKeyMissing):
        IdPseudonymizer.from_file("hall-a", tmp_path / "missing")
    secret_file = tmp_path / "privacy.secret"
    secret_file.write_bytes(SECRET + b"\n")
    assert IdPseudonymizer.from_file("hall-a", secret_file).key(ID) == IdPseudonymizer(
        "hall-a", SECRET
    ).key(ID)
