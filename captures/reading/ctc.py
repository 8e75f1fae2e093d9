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
    text, cp, prev = [], [], 0
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


def constrained(probs: np.ndarray, pattern: str) -> Decoded | None:
    """Best CTC path that emits exactly ``len(pattern)`` characters fitting ``pattern``.

    Viterbi over states "blank before position k" and "character c at position k";
    two equal characters in a row need a blank between them, as CTC requires.
    Returns ``None`` when the sequence is too short to hold the pattern.
    """
    T = probs.shape[0]
    K = len(pattern)
    if K == 0 or T < K:
        return None
    lp = _log(probs)
    lb = lp[:, 0]
    lc = lp[:, 1:]  # (T, 36)
    masks = [_class_mask(s) for s in pattern]
    # blank[k]: best score being in blank having emitted k chars (k=0..K)
    # char[k, c]: best score being on char c as the k-th emitted char
    blank = np.full(K + 1, NEG)
    char = np.full((K, 36), NEG)
    blank[0] = lb[0]
    char[0] = np.where(masks[0], lc[0], NEG)
    # back-pointers: for char states record where we came from
    bp_char = np.zeros((T, K, 36), dtype=np.int8)  # 0 stay, 1 from blank, 2 from prev char
    bp_prev_c = np.zeros((T, K, 36), dtype=np.int16)
    bp_blank = np.zeros((T, K + 1), dtype=np.int16)  # -1 stay, else char index c of k-1
    for t in range(1, T):
        new_blank = np.full(K + 1, NEG)
        new_char = np.full((K, 36), NEG)
        # blank states
        stay = blank
        from_char = np.full(K + 1, NEG)
        arg_char = np.full(K + 1, -1)
        best_c = char.argmax(axis=1)
        from_char[1:] = char[np.arange(K), best_c]
        arg_char[1:] = best_c
        take_char = from_char > stay
        new_blank = np.where(take_char, from_char, stay) + lb[t]
        bp_blank[t] = np.where(take_char, arg_char, -1)
        # char states
        for k in range(K):
            m = masks[k]
            cand_stay = char[k]
            cand_blank = np.full(36, blank[k])
            if k > 0:
                prev = char[k - 1]
                # best previous char different from c: top-2 trick
                order = np.argsort(prev)[::-1]
                b1, b2 = order[0], order[1]
                cand_prev = np.full(36, prev[b1])
                cand_prev[b1] = prev[b2]
                prev_idx = np.full(36, b1)
                prev_idx[b1] = b2
            else:
                cand_prev = np.full(36, NEG)
                prev_idx = np.zeros(36, dtype=int)
            stacked = np.stack([cand_stay, cand_blank, cand_prev])
            choice = stacked.argmax(axis=0)
            best = stacked.max(axis=0)
            new_char[k] = np.where(m, best + lc[t], NEG)
            bp_char[t, k] = choice
            bp_prev_c[t, k] = prev_idx
        blank, char = new_blank, new_char
    end_blank = blank[K]
    c_end = int(char[K - 1].argmax())
    end_char = char[K - 1, c_end]
    if max(end_blank, end_char) <= NEG / 2:
        return None
    # traceback
    chars: list[int] = [0] * K
    cprob: list[float] = [0.0] * K
    t = T - 1
    if end_blank >= end_char:
        state = ("b", K)
        score = end_blank
    else:
        state = ("c", K - 1, c_end)
        score = end_char
    while t >= 0:
        if state[0] == "b":
            k = state[1]
            if t == 0:
                break
            src = bp_blank[t, k]
            t -= 1
            if src >= 0:
                state = ("c", k - 1, int(src))
        else:
            _, k, c = state
            chars[k] = c
            cprob[k] = max(cprob[k], float(probs[t, c + 1]))
            if t == 0:
                break
            how = bp_char[t, k, c]
            t -= 1
            if how == 1:
                state = ("b", k)
            elif how == 2:
                state = ("c", k - 1, int(bp_prev_c[t + 1, k, c]))
    text = "".join(PLATE_CHARS[c] for c in chars)
    return Decoded(text, float(score), tuple(cprob))
