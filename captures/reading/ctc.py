"""CTC decoding over blank + A-Z + 0-9, free or constrained to a letter/digit pattern.

``probs`` is a ``(T, 37)`` array: column 0 is the CTC blank, columns 1..36 are
``PLATE_CHARS`` (A-Z then 0-9).  A pattern is a string over ``L`` (letter),
``D`` (digit) and ``?`` (either), e.g. ``"DLLLDDD"`` for California.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import PLATE_CHARS

NEG = -1e9
_LETTER_MASK = np.array([c.isalpha() for c in PLATE_CHARS])
_DIGIT_MASK = ~_LETTER_MASK


@dataclass(frozen=True)
class Decoded:
    text: str
    score: float  # log probability of the best path
    char_probs: tuple[float, ...]  # best probability of each emitted character

    @property
    def confidence(self) -> float:
        if not self.char_probs:
            return 0.0
        return float(np.exp(np.mean(np.log(np.maximum(self.char_probs, 1e-9)))))


def _log(probs: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(probs, 1e-12))


def greedy(probs: np.ndarray) -> Decoded:
    """Best path: the most likely class at each step, repeats collapsed, blanks removed."""
    idx = probs.argmax(axis=1)
    text: list[str] = []
    cp: list[float] = []
    prev = 0
    run_best = 0.0
    for t, i in enumerate(idx):
        if i != 0 and i != prev:
            if text:
                cp.append(run_best)
            text.append(PLATE_CHARS[i - 1])
            run_best = probs[t, i]
        elif i != 0 and i == prev:
            run_best = max(run_best, probs[t, i])
        prev = i
    if text:
        cp.append(run_best)
    score = float(_log(probs.max(axis=1)).sum())
    return Decoded("".join(text), score, tuple(float(c) for c in cp))


def _class_mask(symbol: str) -> np.ndarray:
    if symbol == "L":
        return _LETTER_MASK
    if symbol == "D":
        return _DIGIT_MASK
    return np.ones(len(PLATE_CHARS), dtype=bool)


def compress(probs: np.ndarray, blank_threshold: float = 0.995) -> np.ndarray:
    """Drop all but one step of each run of near-certain blanks (paths barely change)."""
    sure = probs[:, 0] >= blank_threshold
    keep = ~sure
    keep[1:] |= sure[1:] & ~sure[:-1]  # first step of each blank run
    keep[0] = True
    return probs[keep]


def constrained(probs: np.ndarray, pattern: str) -> Decoded | None:
    """Best CTC path that emits exactly ``len(pattern)`` characters fitting ``pattern``.

    Viterbi over states "blank after k characters" and "character c at position k",
    vectorised over positions; two equal characters in a row need a blank between
    them, as CTC requires.  Returns ``None`` when the sequence is too short.
    """
    T = probs.shape[0]
    K = len(pattern)
    if K == 0 or T < K:
        return None
    trellis = _viterbi(_log(probs), pattern)
    end = trellis.best_end()
    if end is None:
        return None
    chars, cprob = trellis.backtrack(end, probs)
    text = "".join(PLATE_CHARS[i] for i in chars)
    return Decoded(text, end.score, tuple(cprob))


@dataclass(frozen=True)
class _PathEnd:
    """Where the best path ends: in the blank after ``k`` characters, or on character
    ``c`` at position ``k``; ``score`` is the path's log probability."""

    blank: bool
    k: int
    c: int  # -1 for a blank
    score: float


@dataclass(frozen=True)
class _Trellis:
    """The Viterbi scores after the last step and the back-pointers of every step."""

    blank: np.ndarray  # (K + 1,) best log score of "blank after k characters"
    char: np.ndarray  # (K, C) best log score of "character c at position k"
    bp_char: np.ndarray  # (T, K, C) 0 stay, 1 from blank, 2 from previous char
    bp_prev: np.ndarray  # (T, K, C) the previous character when from previous char
    bp_blank: np.ndarray  # (T, K + 1) -1 stay, else the char of position k-1

    def best_end(self) -> _PathEnd | None:
        """The better of "all characters then a blank" and "ending on the last character";
        ``None`` when neither is reachable."""
        K = self.char.shape[0]
        c_end = int(self.char[K - 1].argmax())
        end_char = self.char[K - 1, c_end]
        end_blank = self.blank[K]
        if max(end_blank, end_char) <= NEG / 2:
            return None
        if end_blank >= end_char:
            return _PathEnd(True, K, -1, float(end_blank))
        return _PathEnd(False, K - 1, c_end, float(end_char))

    def backtrack(self, end: _PathEnd, probs: np.ndarray) -> tuple[list[int], list[float]]:
        """The characters of the best path ending in ``end`` and the best probability of
        each along the path."""
        K = self.char.shape[0]
        chars = [0] * K
        cprob = [0.0] * K
        blank, k, c = end.blank, end.k, end.c
        t = probs.shape[0] - 1
        while True:
            if blank:
                if t == 0:
                    break
                src = int(self.bp_blank[t, k])
                t -= 1
                if src >= 0:
                    blank, k, c = False, k - 1, src
            else:
                chars[k] = c
                cprob[k] = max(cprob[k], float(probs[t, c + 1]))
                if t == 0:
                    break
                how = int(self.bp_char[t, k, c])
                src = int(self.bp_prev[t, k, c])
                t -= 1
                if how == 1:
                    blank = True
                elif how == 2:
                    k, c = k - 1, src
        return chars, cprob


def _viterbi(lp: np.ndarray, pattern: str) -> _Trellis:
    """The forward pass over the log probabilities ``lp`` (T, 37)."""
    T = lp.shape[0]
    K = len(pattern)
    lb = lp[:, 0]
    lc = lp[:, 1:]  # (T, 36)
    C = lc.shape[1]
    allowed = np.stack([_class_mask(sym) for sym in pattern])  # (K, 36)
    blank = np.full(K + 1, NEG)
    char = np.full((K, C), NEG)
    blank[0] = lb[0]
    char[0] = np.where(allowed[0], lc[0], NEG)
    bp_char = np.zeros((T, K, C), dtype=np.int8)
    bp_prev = np.zeros((T, K, C), dtype=np.int16)
    bp_blank = np.full((T, K + 1), -1, dtype=np.int16)
    rows = np.arange(K)
    cols = np.arange(C)
    for t in range(1, T):
        best_c = char.argmax(axis=1)  # (K,)
        best_v = char[rows, best_c]
        # blank states
        from_char = np.concatenate(([NEG], best_v))
        take = from_char > blank
        new_blank = np.where(take, from_char, blank) + lb[t]
        bp_blank[t] = np.where(take, np.concatenate(([-1], best_c)), -1)
        # character states: stay, from blank k, from a different char at k-1
        masked = char.copy()
        masked[rows, best_c] = NEG
        second_c = masked.argmax(axis=1)
        second_v = masked[rows, second_c]
        prev_v = np.full((K, C), NEG)
        prev_i = np.zeros((K, C), dtype=np.int16)
        if K > 1:
            same = cols[None, :] == best_c[:-1, None]  # (K-1, C)
            prev_v[1:] = np.where(same, second_v[:-1, None], best_v[:-1, None])
            prev_i[1:] = np.where(same, second_c[:-1, None], best_c[:-1, None])
        cands = np.stack([char, np.broadcast_to(blank[:K, None], (K, C)), prev_v])
        choice = cands.argmax(axis=0)
        best = np.take_along_axis(cands, choice[None], axis=0)[0]
        char = np.where(allowed, best + lc[t][None, :], NEG)
        blank = new_blank
        bp_char[t] = choice
        bp_prev[t] = prev_i
    return _Trellis(blank, char, bp_char, bp_prev, bp_blank)
