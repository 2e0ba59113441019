"""Static memory plan: where every activation tensor lives during one inference.

Storage classes
---------------
* graph inputs are read where the caller's buffers are (``tm_model_invoke(in, out)``):
  they take no arena space and are never written;
* graph outputs are written straight into the caller's output buffers;
* constant tensors are ``const`` arrays (flash);
* every other tensor gets an offset in one static arena.

Tensors that share storage form a *group*: the output of RESHAPE / SQUEEZE /
EXPAND_DIMS is its input re-read with another shape (no code at all), and an
element-wise operator (ADD, SUB, MUL, SOFTMAX, LOGISTIC, TANH, QUANTIZE int8) writes
its output over an input of the same size whose last reader it is ("in place"). A
reshape that would have to move data between storage classes (a graph input that is
also an output, say) becomes a copy.

Placement
---------
A group lives from the step that first writes it to the last step that reads it. Groups
are placed greedily by size, largest first, each at the lowest 4-byte aligned offset
where it overlaps no already-placed group that is live at the same time: the
"greedy by size" planner TensorFlow Lite Micro itself uses
(``GreedyMemoryPlanner``), here applied at compile time and without TFLM's per-tensor
and per-operator bookkeeping. :attr:`MemoryPlan.arena_bytes` is the exact scratch RAM.

Examples
--------
>>> place([(100, 0, 1), (50, 1, 2), (100, 2, 3)])
([0, 100, 0], 152)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tinyml_suite.common.deploy.engine.graph import Graph
from tinyml_suite.common.deploy.engine.lower import Step

__all__ = ["ALIGN", "MemoryPlan", "Storage", "place", "plan_memory"]

#: arena offsets are multiples of this (float32 tensors need 4)
ALIGN = 4


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


@dataclass(frozen=True)
class Storage:
    """Where a tensor's bytes are: ``kind`` in {"in", "out", "const", "arena"}."""

    kind: str
    index: int  # graph input/output number, constant tensor index, or arena offset


@dataclass
class MemoryPlan:
    """The result of :func:`plan_memory`."""

    storage: dict[int, Storage]  # tensor index -> storage
    arena_bytes: int
    buffers: list[dict] = field(default_factory=list)  # one per arena group: offset, bytes, first, last, tensors
    copies: set[int] = field(default_factory=set)  # step positions whose alias became a copy
    naive_bytes: int = 0  # every activation in its own buffer (for comparison)


def place(items: list[tuple[int, int, int]]) -> tuple[list[int], int]:
    """Greedy-by-size placement of ``(bytes, first, last)`` buffers; returns offsets and total."""
    order = sorted(range(len(items)), key=lambda i: (-items[i][0], items[i][1], i))
    offsets: dict[int, int] = {}
    for i in order:
        size, first, last = items[i]
        busy = sorted(
            (offsets[j], offsets[j] + _align(items[j][0]))
            for j in offsets
            if not (items[j][2] < first or last < items[j][1])
        )
        at = 0
        for lo, hi in busy:
            if at + _align(size) <= lo:
                break
            at = max(at, hi)
        offsets[i] = at
    total = max((offsets[i] + _align(items[i][0]) for i in offsets), default=0)
    return [offsets[i] for i in range(len(items))], total


class _Groups:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, t: int) -> int:
        self.parent.setdefault(t, t)
        while self.parent[t] != t:
            self.parent[t] = self.parent[self.parent[t]]
            t = self.parent[t]
        return t

    def union(self, keep: int, other: int) -> None:
        self.parent[self.find(other)] = self.find(keep)


def plan_memory(g: Graph, steps: list[Step], *, inplace: bool = True) -> MemoryPlan:
    """Assign storage to every tensor the steps touch (see the module docstring)."""
    n = len(steps)
    const = {t.index for t in g.tensors if t.is_const}
    g_in = {t: k for k, t in enumerate(g.inputs)}
    g_out = {t: k for k, t in enumerate(g.outputs)}
    groups = _Groups()
    copies: set[int] = set()

    def pinned(root: int) -> set[str]:
        kinds = set()
        for t, _ in list(groups.parent.items()):
            if groups.find(t) == root:
                kinds |= {"in"} if t in g_in else set()
                kinds |= {"out"} if t in g_out else set()
                kinds |= {"const"} if t in const else set()
        return kinds

    # 1. reshapes alias their input, unless that would merge two storage classes
    for s, step in enumerate(steps):
        for t in step.inputs + step.outputs:
            groups.find(t)
        if step.kernel != "alias":
            continue
        src, dst = step.inputs[0], step.outputs[0]
        a, b = pinned(groups.find(src)), pinned(groups.find(dst))
        clash = ("out" in a and "out" in b) or (a & {"in", "const"} and "out" in b) or (
            "out" in a and b & {"in", "const"})
        if clash:
            copies.add(s)
        else:
            groups.union(src, dst)
    for t in list(g_in) + list(g_out):
        groups.find(t)

    # 2. lifetimes of groups: first write .. last read (graph outputs live to the end)
    def lifetimes() -> tuple[dict[int, int], dict[int, int]]:
        first: dict[int, int] = {}
        last: dict[int, int] = {}
        for s, step in enumerate(steps):
            if step.kernel == "alias" and s not in copies:
                continue
            for t in step.inputs:
                r = groups.find(t)
                last[r] = max(last.get(r, -1), s)
                first.setdefault(r, s)
            for t in step.outputs:
                r = groups.find(t)
                first.setdefault(r, s)
                last[r] = max(last.get(r, -1), s)
        for t in g_out:
            last[groups.find(t)] = n
        return first, last

    # 3. in place: an element-wise output over an input whose group dies here
    if inplace:
        for s, step in enumerate(steps):
            if not step.inplace or step.kernel == "alias":
                continue
            _, last = lifetimes()
            dst = step.outputs[0]
            if pinned(groups.find(dst)) & {"in", "const"}:
                continue
            for pos in step.inplace:
                src = step.inputs[pos]
                r = groups.find(src)
                if r == groups.find(dst) or pinned(r) or last.get(r) != s:
                    continue
                if any(groups.find(step.inputs[q]) == r for q in range(len(step.inputs)) if q != pos):
                    continue  # the same buffer is also read through the other operand
                if g.t(src).nbytes != g.t(dst).nbytes:
                    continue
                groups.union(dst, src)
                break

    first, last = lifetimes()
    # 4. storage
    storage: dict[int, Storage] = {}
    arena_roots: dict[int, list[int]] = {}
    for t in list(groups.parent):
        r = groups.find(t)
        kinds = [k for k in (t2 for t2 in groups.parent if groups.find(t2) == r)]
        ins = [k for k in kinds if k in g_in]
        outs = [k for k in kinds if k in g_out]
        consts = [k for k in kinds if k in const]
        if ins:
            storage[t] = Storage("in", g_in[ins[0]])
        elif outs:
            storage[t] = Storage("out", g_out[outs[0]])
        elif consts:
            storage[t] = Storage("const", consts[0])
        else:
            arena_roots.setdefault(r, []).append(t)
    roots = sorted(arena_roots)
    items = []
    for r in roots:
        size = max(g.t(t).nbytes for t in arena_roots[r])
        items.append((size, first.get(r, 0), last.get(r, first.get(r, 0))))
    offsets, total = place(items)
    buffers = []
    for r, off, (size, f, last_) in zip(roots, offsets, items):
        for t in arena_roots[r]:
            storage[t] = Storage("arena", off)
        buffers.append({"offset": off, "bytes": size, "first": f, "last": last_, "tensors": sorted(arena_roots[r])})
    naive = sum(_align(g.t(t).nbytes) for r in roots for t in arena_roots[r]
                if not any(st.kernel == "alias" and t in st.outputs for st in steps))
    return MemoryPlan(storage, int(total), sorted(buffers, key=lambda b: (b["offset"], b["first"])), copies, naive)
