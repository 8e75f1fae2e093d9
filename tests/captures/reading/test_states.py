import numpy as np
import pytest

from captures.reading.states import STATES, match_state
from tests.factories import draw_words


@pytest.mark.parametrize(
    ("texts", "code"),
    [
        (["California"], "CA"),
        (["CALIFOR"], "CA"),  # cut at the crop's edge
        (["ALIFORNIA"], "CA"),
        (["NEW Y0RK"], "NY"),  # OCR noise
        (["Pennsylvanla"], "PA"),
        (["WEST VIRGINIA"], "WV"),  # not VA
        (["VIRGINIA"], "VA"),
        (["ARKANSAS"], "AR"),  # not KS
        (["KANSAS"], "KS"),
        (["JAN", "Texas 2019"], "TX"),
        (["Land of Lincoln"], "IL"),
        (["Washington, DC"], "DC"),
        (["visitPA.com"], "PA"),  # the address on Pennsylvania's plates
        (["isitPA.co"], "PA"),  # the same, cut at both edges
        (["dmv.ca.gov"], "CA"),
    ],
)
def test_state_names_match_their_code(texts, code):
    assert match_state(texts)[0] == code


@pytest.mark.parametrize(
    ("texts", "code"),
    [
        # the cursive "California" as the word recognizer reads it: l, f, r and n misread
        (["JAN", "Calbomia_"], "CA"),  # not OHIO (the "OMIA" in it)
        (["MAY", '"Cabiboia_', "2009"], "CA"),
        (["FEB Caloiriac"], "CA"),
        (["MAsHIrGN"], "WA"),  # M for W
    ],
)
def test_long_names_match_through_the_letters_script_faces_confuse(texts, code):
    assert match_state(texts)[0] == code


@pytest.mark.parametrize(
    ("texts", "code"),
    [
        (["Uaryland"], "MD"),  # not WI: DAIRYLAND's tail is MARYLAND's
        (["1890 ", "TDATIO", "'1990"], "ID"),  # an H read as TI
        (['Arikansas"u'], "AR"),  # not the KANSAS inside it
        (["Iow", "MARSHALL"], "IA"),  # three letters of IOWA, the rest behind a frame
        (["OWA", "j", "CLAYTON"], "IA"),
        (["LIVE", "FREE OR", "HAMSHTRE"], "NH"),  # not GEORGIA from the GEOR-like "EEOR"
    ],
)
def test_misread_names_match_their_state_and_not_a_look_alike(texts, code):
    assert match_state(texts)[0] == code


@pytest.mark.parametrize(
    "texts",
    [
        ["OHL"],  # three letters, not all of them in OHIO
        ["FREEOR"],  # shares four letters with GEORGIA's beginning, is another word
        ["HELLO"],
    ],
)
def test_short_and_unlike_words_name_no_state(texts):
    assert match_state(texts) == (None, None)


def test_kansas_alone_is_still_kansas_and_a_slogan_naming_a_state_still_counts():
    assert match_state(["KANSAS"])[0] == "KS"
    assert match_state(["ANSAS"])[0] in ("KS", "AR")  # a piece of either
    assert match_state(["isitPA.co"])[0] == "PA"


def test_confusable_letters_count_half_an_edit_and_only_in_long_names():
    from captures.reading.states import _similarity

    assert _similarity("CALIFORNIA", "CALIBORNIA", confusable=True) == pytest.approx(0.95)
    assert _similarity("CALIFORNIA", "CALIBORNIA") == pytest.approx(0.9)
    assert _similarity("CALIFORNIA", "CALIXORNIA", confusable=True) == pytest.approx(0.9)
    # four-letter names keep whole edits: a misread word must not turn into OHIO or IOWA
    assert _similarity("OHIO", "OHLD", confusable=True) == pytest.approx(0.75)
    assert match_state(["OHLD"]) == (None, None)


@pytest.mark.parametrize("texts", [["xqzpt"], ["HELLO WORLD"], [], ["12", "A"], ["QWXZKJ"]])
def test_nonsense_is_unknown(texts):
    assert match_state(texts) == (None, None)


def test_every_state_name_matches_itself():
    for code, name in STATES.items():
        assert match_state([name])[0] == code


@pytest.mark.ocr
@pytest.mark.parametrize(
    ("name", "code", "cut"),
    [
        ("OREGON", "OR", None),
        ("New Jersey", "NJ", None),
        ("MASSACHUSETTS", "MA", 0.8),  # the right fifth cut off
        ("Minnesota", "MN", None),
        ("FLORIDA", "FL", "noise"),
    ],
)
def test_rendered_state_names_are_read_to_codes(plate_reader, name, code, cut):
    img = draw_words(name)
    arr = np.asarray(img)
    if isinstance(cut, float):
        arr = arr[:, : int(arr.shape[1] * cut)]
    elif cut == "noise":
        rng = np.random.default_rng(5)
        arr = np.clip(arr + rng.normal(0, 18, arr.shape), 0, 255).astype(np.uint8)
    assert plate_reader._state_from_crops([arr])[0] == code


@pytest.mark.ocr
def test_rendered_nonsense_is_unknown(plate_reader):
    arr = np.asarray(draw_words("QXZ 7Q KJW"))
    assert plate_reader._state_from_crops([arr]) == (None, None)


def test_names_are_compared_before_slogans():
    """``_scores`` relies on it: a slogan's piece is refused on a word a name already took."""
    from captures.reading.states import _TARGETS

    flags = [is_name for _code, _name, is_name in _TARGETS]
    assert flags == sorted(flags, reverse=True)
    assert flags[0]
    assert not flags[-1]
