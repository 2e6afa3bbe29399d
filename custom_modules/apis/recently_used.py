# Copyright (c) OpenMMLab. All rights reserved.
"""A cache that keeps the values of the keys used last."""
from collections import OrderedDict
from typing import Callable, Generic, Hashable, Iterator, TypeVar

Value = TypeVar('Value')


class RecentlyUsed(Generic[Value]):
    """The values of the ``max_size`` keys used last: making a new one drops
    the one used longest ago (what is costly to keep, e.g. a CUDA graph or a
    full-size sampling grid per input size).

    Iterates the keys from the one used longest ago to the last.
    """

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._values: 'OrderedDict[Hashable, Value]' = OrderedDict()

    def get_or_make(self, key: Hashable, make: Callable[[], Value]) -> Value:
        """The value of ``key``, made by ``make()`` if it is not kept; ``key``
        becomes the one used last."""
        if key in self._values:
            self._values.move_to_end(key)
        else:
            self._values[key] = make()
            while len(self._values) > self.max_size:
                self._values.popitem(last=False)
        return self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._values)
