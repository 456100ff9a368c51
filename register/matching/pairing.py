"""Pairing everyone waiting at once: a draft a coordinator reviews before anything is sent.

A pure function over plain values, so its guarantees can be tested
exhaustively (tests/test_matching.py, with Hypothesis):

- no mentor is given more mentees than their spare capacity;
- no mentor is given two mentees while a mentor the second could have had
  is left without any;
- a pair the mentor declined (or that is otherwise excluded) is never drafted.

It runs in two rounds. In the first, mentees in queue order (longest waiting
first, for fairness) each take their best-fitting mentor nobody has taken
yet. In the second, those still without a mentor take their best-fitting
mentor who still has room. A mentee left over in the first round found every
mentor they fit already taken, and taken mentors stay taken, so the second
round never doubles a mentor up while another they fit is free.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Pair:
    mentee: Hashable
    mentor: Hashable
    score: float


def pair_everyone(
    waiting: Sequence[tuple[Hashable, Sequence[tuple[Hashable, float]]]],
    spare: Mapping[Hashable, int],
    excluded: Iterable[tuple[Hashable, Hashable]] = (),
) -> list[Pair]:
    """Draft pairs for `waiting` (mentee, [(mentor, score), ...]) in queue order.

    `spare` is each mentor's room left; `excluded` are (mentee, mentor) pairs
    never to draft. Each mentee gets at most one mentor. The result is in
    queue order.
    """
    excluded = set(excluded)
    room = {mentor: max(0, int(places)) for mentor, places in spare.items()}
    options: dict[Hashable, list[tuple[Hashable, float]]] = {}
    for mentee, candidates in waiting:
        if mentee in options:
            continue  # a mentee listed twice is paired once
        best: dict[Hashable, float] = {}
        for mentor, fit in candidates:
            if (mentee, mentor) not in excluded and room.get(mentor, 0) > 0:
                best[mentor] = max(fit, best.get(mentor, fit))
        # Best fit first; equal fits in a fixed order so a draft can be reproduced.
        options[mentee] = sorted(best.items(), key=lambda item: (-item[1], repr(item[0])))

    chosen: dict[Hashable, Pair] = {}
    taken: set[Hashable] = set()
    for only_untaken in (True, False):
        for mentee, ranked in options.items():
            if mentee in chosen:
                continue
            for mentor, fit in ranked:
                if room[mentor] <= 0 or (only_untaken and mentor in taken):
                    continue
                chosen[mentee] = Pair(mentee, mentor, fit)
                taken.add(mentor)
                room[mentor] -= 1
                break
    return [chosen[mentee] for mentee in options if mentee in chosen]
