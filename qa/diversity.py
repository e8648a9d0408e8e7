"""Per-exhibit diversity for the top k: a question about several exhibits hears from each.

Fusion ranks paragraphs, not exhibits, so one long exhibit can fill every place. Plain MMR
needs a similarity between paragraphs, and the fused hits mix two scoring scales; quotas on
exhibit numbers are simpler, deterministic and enough for the cross-exhibit case.
"""

from __future__ import annotations

from collections.abc import Sequence


def diverse_top(exhibits: Sequence[int], k: int, *, cap: int, required: Sequence[int] = ()) -> list[int]:
    """Indices into ``exhibits`` (the exhibit of each ranked hit, best first) of the k to keep.

    Each exhibit in ``required`` that has hits gets at least ``k // len(required)`` places (at
    most 2 taken by force); no exhibit takes more than ``cap`` places while hits from other
    exhibits wait. Order of the kept hits stays the fused order.
    """
    if k <= 0:
        return []
    chosen: list[int] = []
    if len(required) > 1:
        floor = max(1, min(2, k // len(required)))
        for ex in required:
            chosen.extend([i for i, e in enumerate(exhibits) if e == ex][:floor])
    counts: dict[int, int] = {}
    for i in chosen:
        counts[exhibits[i]] = counts.get(exhibits[i], 0) + 1
    overflow: list[int] = []
    for i, ex in enumerate(exhibits):
        if len(chosen) >= k:
            break
        if i in chosen:
            continue
        if counts.get(ex, 0) >= cap:
            overflow.append(i)
            continue
        chosen.append(i)
        counts[ex] = counts.get(ex, 0) + 1
    # Too few other exhibits to fill k: the capped hits come back, best first.
    chosen.extend(overflow[: k - len(chosen)])
    return sorted(chosen[:k])
