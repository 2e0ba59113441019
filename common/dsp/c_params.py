"""C ``#define`` names and values for the DSP parameter dataclasses.

The DSP side owns the mapping from a frozen parameter dataclass to the defines its C99
twin reads (``<PREFIX>_<FIELD>``, ``<PREFIX>_IMPLEMENTATION_VERSION``), so the library
stands alone; the deploy layer (``common/deploy/cgen.py``) only spells them as a header.

Examples
--------
>>> from tinyml_suite.common.dsp.stats import StatsParams
>>> params_defines(StatsParams())["STATS_IMPLEMENTATION_VERSION"]
1
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from tinyml_suite.common.errors import ConfigError

__all__ = ["C_KEYWORDS", "check_identifier", "params_defines"]

# C11 + C++17 keywords and the alternative operator spellings; an identifier equal to
# one of these (or starting with `__`, or `_` + capital: reserved) is refused.
C_KEYWORDS = frozenset(
    """
    auto break case char const continue default do double else enum extern float for goto
    if inline int long register restrict return short signed sizeof static struct switch
    typedef union unsigned void volatile while _Alignas _Alignof _Atomic _Bool _Complex
    _Generic _Imaginary _Noreturn _Static_assert _Thread_local
    alignas alignof and and_eq asm bitand bitor bool catch char8_t char16_t char32_t class
    compl concept consteval constexpr constinit const_cast co_await co_return co_yield
    decltype delete dynamic_cast explicit export false friend module mutable namespace new
    noexcept not not_eq nullptr operator or or_eq private protected public reinterpret_cast
    requires static_assert static_cast template this thread_local throw true try typeid
    typename using virtual wchar_t xor xor_eq NULL
    """.split()
)

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_identifier(name: str) -> str:
    """Return ``name`` if it is a legal, unreserved C and C++ identifier.

    Examples
    --------
    >>> check_identifier("g_wake_word_model_data")
    'g_wake_word_model_data'
    >>> check_identifier("class")
    Traceback (most recent call last):
    ...
    tinyml_suite.common.errors.ConfigError: C identifier 'class' is a C/C++ keyword; rename it (e.g. 'class_')
    """
    if not isinstance(name, str) or not _IDENT.match(name):
        raise ConfigError(
            f"C identifier {name!r} must match [A-Za-z_][A-Za-z0-9_]*; "
            "replace other characters with '_'"
        )
    if name in C_KEYWORDS:
        raise ConfigError(f"C identifier {name!r} is a C/C++ keyword; rename it (e.g. '{name}_')")
    if name.startswith("__") or (len(name) > 1 and name[0] == "_" and name[1].isupper()):
        raise ConfigError(
            f"C identifier {name!r} is reserved for the implementation (leading '__' or '_X')"
        )
    return name


def params_defines(params: Any, *, sample_rate: int | None = None) -> dict[str, Any]:
    """``#define`` names and values for a frozen DSP parameter dataclass.

    The prefix is the class's ``C_PREFIX`` (e.g. ``MFCC``); each field becomes
    ``<PREFIX>_<FIELD>`` and the class's ``IMPLEMENTATION_VERSION`` becomes
    ``<PREFIX>_IMPLEMENTATION_VERSION``. Strings and enums are emitted as their value
    plus, for strings, an integer code when the class maps it in ``C_ENUMS``.
    ``sample_rate`` (Hz; it belongs to the data, not to the dataclass) adds
    ``<PREFIX>_SAMPLE_RATE``, which the C code of rate-dependent blocks requires.
    """
    if not dataclasses.is_dataclass(params):
        raise ConfigError(f"{type(params).__name__} is not a parameter dataclass")
    prefix = check_identifier(params.C_PREFIX)
    out: dict[str, Any] = {
        f"{prefix}_IMPLEMENTATION_VERSION": int(params.IMPLEMENTATION_VERSION)
    }
    if sample_rate is not None:
        out[check_identifier(f"{prefix}_SAMPLE_RATE")] = int(sample_rate)
    enums: Mapping[str, Mapping[Any, int]] = getattr(params, "C_ENUMS", {})
    for field in dataclasses.fields(params):
        value = getattr(params, field.name)
        name = check_identifier(f"{prefix}_{field.name.upper()}")
        if field.name in enums:
            table = enums[field.name]
            if value not in table:
                raise ConfigError(
                    f"{type(params).__name__}.{field.name}={value!r} has no C code; "
                    f"supported: {sorted(map(str, table))}"
                )
            out[name] = int(table[value])
        elif value is None:
            out[name] = 0
            out[check_identifier(f"{name}_IS_NONE")] = 1
        elif isinstance(value, (tuple, list)):
            out[check_identifier(f"{name}_COUNT")] = len(value)
            for i, v in enumerate(value):
                out[check_identifier(f"{name}_{i}")] = v
        else:
            out[name] = value
    return out
