"""help() on the public API is worth reading: every public name is documented and typed.

Every name in ``pcn_planner.__all__`` has a docstring of more than one line;
every public function, and every public method of a public class, annotates
its parameters and return; the main verbs show an example.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator

import pytest

import pcn_planner as pp

PUBLIC = [name for name in pp.__all__ if name != "__version__"]

#: The verbs a new analyst reaches for first: each docstring shows them in use.
WITH_EXAMPLES = ["load_atlas", "build_region", "score_plan", "optimise", "Plan", "Problem", "read_plan_csv"]

#: Gaps in pcn_planner/optimise.py, which is being reworked in parallel: they are
#: fixed with that work. Strict, so each fails loudly once fixed (then delete it).
PENDING: dict[str, dict[str, str]] = {"docstring": {}, "annotated": {}, "example": {}}


def _pending(check: str, names: list[str]) -> list:
    pending = PENDING[check]
    return [pytest.param(n, marks=pytest.mark.xfail(reason=pending[n], strict=True)) if n in pending else n
            for n in names]


def _callables(obj: object) -> Iterator[tuple[str, Callable]]:
    """The function itself, or a class's own public methods (properties' getters included)."""
    if inspect.isfunction(obj):
        yield obj.__name__, obj
        return
    if inspect.isclass(obj) and not issubclass(obj, BaseException):
        for attr, value in vars(obj).items():
            if attr.startswith("_"):
                continue
            if isinstance(value, (classmethod, staticmethod)):
                value = value.__func__
            elif isinstance(value, property):
                value = value.fget
            if inspect.isfunction(value):
                yield f"{obj.__name__}.{attr}", value


def test_every_public_name_is_listed_once() -> None:
    assert len(set(pp.__all__)) == len(pp.__all__)
    assert all(hasattr(pp, name) for name in pp.__all__)


@pytest.mark.parametrize("name", _pending("docstring", PUBLIC))
def test_public_name_has_a_real_docstring(name: str) -> None:
    doc = inspect.getdoc(getattr(pp, name)) or ""
    assert len(doc.strip().splitlines()) > 1, f"pcn_planner.{name}: docstring is {doc!r}"


@pytest.mark.parametrize("name", _pending("annotated", PUBLIC))
def test_public_callables_are_annotated(name: str) -> None:
    missing = []
    for qualname, func in _callables(getattr(pp, name)):
        sig = inspect.signature(func)
        for param in sig.parameters.values():
            if param.name not in ("self", "cls") and param.annotation is inspect.Parameter.empty:
                missing.append(f"{qualname}({param.name})")
        if sig.return_annotation is inspect.Signature.empty:
            missing.append(f"{qualname} -> ?")
    assert not missing, f"not annotated: {', '.join(missing)}"


@pytest.mark.parametrize("name", _pending("example", WITH_EXAMPLES))
def test_main_verbs_show_an_example(name: str) -> None:
    doc = inspect.getdoc(getattr(pp, name)) or ""
    assert "Examples\n--------\n>>> import pcn_planner as pp" in doc, f"pcn_planner.{name} has no example"


@pytest.mark.parametrize("name", ["load_atlas", "build_region", "score_plan", "read_plan_csv", "Plan.on",
                                  "Plan.explore"])
def test_functions_say_what_they_return_and_raise(name: str) -> None:
    obj = pp
    for part in name.split("."):
        obj = getattr(obj, part)
    doc = inspect.getdoc(obj) or ""
    for section in ("Parameters", "Returns", "Raises"):
        assert f"{section}\n{'-' * len(section)}" in doc, f"pcn_planner.{name}: no {section} section"
