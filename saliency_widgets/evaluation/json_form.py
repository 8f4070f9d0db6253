"""Settings as JSON stores them: :func:`jsonable` (what a results file's header and a fingerprint compare)."""
from __future__ import annotations

import json
import re

import numpy as np

__all__ = ["jsonable"]


def jsonable(obj):
    """A JSON round trip, so settings compare as they are stored."""
    def default(o):
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, (np.ndarray, tuple, set)):
            return list(o)
        if callable(o) and hasattr(o, "__qualname__"):  # a function: its name, stable across runs
            return f"{getattr(o, '__module__', '')}.{o.__qualname__}"
        return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(o))  # no memory address: equal settings compare equal
    return json.loads(json.dumps(obj, default=default, sort_keys=True))
