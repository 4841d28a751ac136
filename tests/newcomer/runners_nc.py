"""Runners of the newcomer tests."""


def square(a):
    if not isinstance(a, int):
        raise TypeError(f"a must be an int, got {a!r}")
    return {"square": a * a}
