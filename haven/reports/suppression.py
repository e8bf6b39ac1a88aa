"""Small-cell suppression that subtracting totals cannot undo (docs/reports.md#suppression).

A table is shown with its row totals, column totals and grand total, all exact. Treat them as one
grid: the cells, with the row totals as an extra column and the column totals as an extra row
(the grand total where they meet). Every entry from 1 to ``threshold - 1``, total or cell, is
hidden (primary suppression). Hiding one cell alone is no use: its row total minus the shown cells
gives it back. So each hidden entry is then put on a *cycle* of hidden, non-zero entries, going
row, column, row, column... back to where it started (complementary suppression). Adding 1 to every
other entry of such a cycle and taking 1 from the rest leaves every row sum and column sum as it
was, and since every entry on it is at least 1, one of the two directions keeps them all
non-negative: the shown cells and totals fit at least two values of every hidden entry.

The cycle added for an entry is the one whose newly hidden entries add up to least (a shortest
path, Dijkstra, from its row to its column over the other entries, hidden ones costing nothing), so
it usually takes the next smallest cell of its row and column, as a person would. One always
exists: any non-zero cell lies on the cycle through its row total, the grand total and its column
total.

>>> sorted(suppress([[3, 9], [6, 8]], 5))
[(0, 0), (0, 1), (1, 0), (1, 1)]
>>> sorted(suppress([[7, 9], [6, 8]], 5))
[]
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence

Entry = tuple[int, int]  # (row, column) in the grid; the last row holds column totals, the last column row totals
_ROW, _COL = 0, 1


def grid_of(cells: Sequence[Sequence[int]]) -> list[list[int]]:
    """The cells with their row totals, column totals and grand total, as one grid.

    >>> grid_of([[1, 2], [3, 4]])
    [[1, 2, 3], [3, 4, 7], [4, 6, 10]]
    """
    rows = [[*row, sum(row)] for row in cells]
    width = len(rows[0]) if rows else 1
    return [*rows, [sum(row[j] for row in rows) for j in range(width)]]


def suppress(cells: Sequence[Sequence[int]], threshold: int) -> frozenset[Entry]:
    """The grid entries (:func:`grid_of`) to hide so that no small count can be worked out."""
    grid = grid_of(cells)
    hidden = {(i, j) for i, row in enumerate(grid) for j, value in enumerate(row) if 0 < value < threshold}
    # Once on a cycle an entry stays on one (hiding more never breaks a cycle), and the entries a
    # cycle adds are on it too: one pass over the primary entries, smallest first, is enough.
    for entry in sorted(hidden, key=lambda e: (grid[e[0]][e[1]], e)):
        if not _on_cycle(entry, hidden):
            hidden.update(_cheapest_cycle(entry, hidden, grid))
    return frozenset(hidden)


def _vertices(entry: Entry) -> tuple[tuple[int, int], tuple[int, int]]:
    return (_ROW, entry[0]), (_COL, entry[1])


def _neighbours(vertex: tuple[int, int], entries: Iterable[Entry]) -> Iterable[tuple[Entry, tuple[int, int]]]:
    side, index = vertex
    for entry in entries:
        if entry[side] == index:
            yield entry, ((_COL, entry[1]) if side == _ROW else (_ROW, entry[0]))


def _on_cycle(entry: Entry, hidden: set[Entry]) -> bool:
    """Whether ``entry``'s row and column are joined by hidden entries other than itself."""
    start, goal = _vertices(entry)
    others = hidden - {entry}
    seen, frontier = {start}, [start]
    while frontier:
        vertex = frontier.pop()
        for _, nxt in _neighbours(vertex, others):
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return False


def _cheapest_cycle(entry: Entry, hidden: set[Entry], grid: list[list[int]]) -> list[Entry]:
    """The shown entries to hide to close a cycle through ``entry``, adding the least in total."""
    start, goal = _vertices(entry)
    usable = [(i, j) for i, row in enumerate(grid) for j, value in enumerate(row) if value and (i, j) != entry]
    # Cost: the value hidden, then the number of entries (ties go to fewer); hidden entries are free.
    best: dict[tuple[int, int], tuple[int, int]] = {start: (0, 0)}
    came: dict[tuple[int, int], tuple[tuple[int, int], Entry]] = {}
    queue: list[tuple[tuple[int, int], tuple[int, int]]] = [((0, 0), start)]
    while queue:
        cost, vertex = heapq.heappop(queue)
        if vertex == goal:
            break
        if cost > best.get(vertex, cost):
            continue
        for step, nxt in _neighbours(vertex, usable):
            extra = (0, 0) if step in hidden else (grid[step[0]][step[1]], 1)
            new = (cost[0] + extra[0], cost[1] + extra[1])
            if nxt not in best or new < best[nxt]:
                best[nxt] = new
                came[nxt] = (vertex, step)
                heapq.heappush(queue, (new, nxt))
    path, vertex = [], goal
    while vertex != start:  # a path exists: see the module's docstring
        vertex, step = came[vertex]
        path.append(step)
    return [step for step in path if step not in hidden]
