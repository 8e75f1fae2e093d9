from captures.reading.matching import look_alike_keys, match_key, normalize_plate


def test_normalize_keeps_only_uppercase_letters_and_digits():
    assert normalize_plate(" 7ab-c 123\n") == "7ABC123"
    assert normalize_plate("••") == ""


def test_confusable_reads_share_a_key():
    assert match_key("7ABC123") == match_key("7A8C123")
    assert match_key("SO5") == match_key("50S") == match_key("S05")
    assert match_key("IL1") == match_key("111")
    assert match_key("ZG2") == match_key("262")
    assert match_key("OQD0") == match_key("0000")
    assert match_key("7abc-123") == match_key("7ABC123")


def test_different_plates_do_not_share_a_key():
    assert match_key("7ABC123") != match_key("7ABC124")
    assert match_key("ABC123") != match_key("ABC1234")
    assert match_key("XYZ789") != match_key("XYZ780")
    assert match_key("K") != match_key("X")


def test_a_read_l_may_be_an_open_top_four_but_a_four_is_not_a_one():
    # California's 4 read as L: the plate it may have been is among the look-alike keys.
    assert match_key("4KBZ265") in look_alike_keys("LKBZ265")
    assert match_key("LKBZ265") not in look_alike_keys("LKBZ265")  # its own key is not
    # Both Ls of a read, alone and together; a read without an L has none.
    assert sorted(look_alike_keys("L7366L1")) == sorted(
        {match_key("47366L1"), match_key("L736641"), match_key("4736641")}
    )
    assert look_alike_keys("7ABC123") == []
    # Not folded: a 4 and a 1 keep different keys, and only the read's L is tried as a 4.
    assert match_key("7ABC124") != match_key("7ABC121")
    assert match_key("LKBZ265") not in look_alike_keys("4KBZ265")
    # A read of many Ls tries its first three (seven keys), not 2**n.
    assert len(look_alike_keys("LLLLLLL")) == 7


def test_match_keys_and_the_reading_services_do_not_load_the_reader():
    """Search, review and the web process import match keys from the reading package: that
    must not pull in the recognizer (numpy, easyocr, torch), which only a worker needs."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import os, sys, django\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'alpr_portal.settings_test')\n"
        "django.setup()\n"
        "import captures.reading.matching, captures.reading.services, captures.search\n"
        "print(sorted(m for m in ('numpy', 'captures.reading.pipeline') if m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"
