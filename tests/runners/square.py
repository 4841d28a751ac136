"""A runner that squares an int and raises on anything else (tests/api/test_reprs.py)."""


def square(a):
    if not isinstance(a, int):
        raise TypeError(f"a must be an int, got {a!r}")
    return {"square": a * a}
