"""Golden vectors shared by the Python and C parity tests (see generate.py)."""
