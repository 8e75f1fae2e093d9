"""The one plate folding: Python's ``match_key`` and the SQL ``translate()`` table agree."""

import string

import pytest
from django.db import connection

from captures.reading import matching
from tenants.plates import FOLD_FROM, FOLD_TO, folds, match_key


def test_captures_use_the_same_folding():
    assert matching.match_key is match_key


@pytest.mark.django_db
def test_sql_translate_folds_every_character_as_match_key():
    alphabet = string.ascii_uppercase + string.digits
    with connection.cursor() as cursor:
        cursor.execute("SELECT translate(%s, %s, %s)", [alphabet, FOLD_FROM, FOLD_TO])
        (folded,) = cursor.fetchone()
    assert folded == match_key(alphabet)
    assert match_key("ABC1O3") == match_key("ABC103") != match_key("ABC104")


def test_folds_names_plates_with_look_alikes():
    assert folds("ABC1O3")
    assert not folds("7WXY777")
