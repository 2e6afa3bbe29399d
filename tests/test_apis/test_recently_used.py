# Copyright (c) OpenMMLab. All rights reserved.
"""RecentlyUsed: the cache of CUDA graphs (fast path) and sampling grids
(device preprocessing) per input size."""
from custom_modules.apis.recently_used import RecentlyUsed


def test_a_value_is_made_once_and_the_one_used_longest_ago_goes():
    made = []
    cache = RecentlyUsed(2)

    def value(key):
        return cache.get_or_make(key, lambda: made.append(key) or key * 10)

    assert [value(1), value(2), value(1)] == [10, 20, 10]
    assert made == [1, 2] and list(cache) == [2, 1]
    assert value(3) == 30  # 2, used longest ago, goes
    assert list(cache) == [1, 3] and len(cache) == 2
    assert value(2) == 20 and made == [1, 2, 3, 2]
