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
    lp = _log(probs)
    lb = lp[:, 0]
    lc = lp[:, 1:]  # (T, 36)
    C = lc.shape[1]
    allowed = np.stack([_class_mask(sym) for sym in pattern])  # (K, 36)
    blank = np.full(K + 1, NEG)
    char = np.full((K, C), NEG)
    blank[0] = lb[0]
    char[0] = np.where(allowed[0], lc[0], NEG)
    bp_char = np.zeros((T, K, C), dtype=np.int8)  # 0 stay, 1 from blank, 2 from previous char
    bp_prev = np.zeros((T, K, C), dtype=np.int16)
    bp_blank = np.full((T, K + 1), -1, dtype=np.int16)  # -1 stay, else char of k-1
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
    c_end = int(char[K - 1].argmax())
    end_char = char[K - 1, c_end]
    end_blank = blank[K]
    if max(end_blank, end_char) <= NEG / 2:
        return None
    chars = [0] * K
    cprob = [0.0] * K
    if end_blank >= end_char:
        kind, k, c, score = "b", K, -1, end_blank
    else:
        kind, k, c, score = "c", K - 1, c_end, end_char
    t = T - 1
    while True:
        if kind == "b":
            if t == 0:
                break
            src = int(bp_blank[t, k])
            t -= 1
            if src >= 0:
                kind, k, c = "c", k - 1, src
        else:
            chars[k] = c
            cprob[k] = max(cprob[k], float(probs[t, c + 1]))
            if t == 0:
                break
            how = int(bp_char[t, k, c])
            src = int(bp_prev[t, k, c])
            t -= 1
            if how == 1:
                kind = "b"
            elif how == 2:
                k, c = k - 1, src
    text = "".join(PLATE_CHARS[i] for i in chars)
    return Decoded(text, float(score), tuple(cprob))
