"""Arrays of numbers kept in a model's JSON as base64 of their bytes.

A list of 100,000 numbers in JSON took a tenth of a second to read back, and
each became a Python object; the bytes of an array are read in a millisecond.
The cache is this machine's own, so the machine's byte order is the file's.
"""

from __future__ import annotations

import base64
from array import array


def packed(numbers: array) -> str:
    return base64.b64encode(numbers.tobytes()).decode("ascii")


def unpacked(code: str, text: str, length: int | None = None) -> array:
    """The array of type `code` in `text`; ValueError if it does not hold `length` items."""
    numbers = array(code)
    numbers.frombytes(base64.b64decode(text))
    if length is not None and len(numbers) != length:
        raise ValueError(f"{len(numbers)} numbers where {length} were kept")
    return numbers
