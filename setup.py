"""Package list for setuptools: the top-level folders become subpackages of ``tinyml_suite``.

Everything else (metadata, dependencies, the package-dir mapping) is in pyproject.toml.
"""

from setuptools import find_packages, setup

_ROOTS = ("apps", "common", "datasets")


def _packages() -> list[str]:
    names = ["tinyml_suite.conf", "tinyml_suite.firmware_templates"]
    for root in _ROOTS:
        names.append(f"tinyml_suite.{root}")
        names += [f"tinyml_suite.{root}.{sub}" for sub in find_packages(where=root)]
    return names


setup(packages=_packages())
