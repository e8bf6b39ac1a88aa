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
_ROW, _COL = 0, 1  # which side of the graph a vertex is on


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
    nonzero = [(i, j) for i, row in enumerate(grid) for j, value in enumerate(row) if value]
    hidden = {(i, j) for i, j in nonzero if grid[i][j] < threshold}
    everything, hidden_only = _Graph(nonzero), _Graph(hidden)
    # Once on a cycle an entry stays on one (hiding more never breaks a cycle), and the entries a
    # cycle adds are on it too: one pass over the primary entries, smallest first, is enough.
    for entry in sorted(hidden, key=lambda e: (grid[e[0]][e[1]], e)):
        if not hidden_only.joined_without(entry):
            for step in everything.cheapest_cycle(entry, hidden, grid):
                hidden.add(step)
                hidden_only.add(step)
    return frozenset(hidden)


Vertex = tuple[int, int]  # (_ROW, i) or (_COL, j)


class _Graph:
    """Rows and columns as vertices, entries as the edges between their row and their column."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.edges: dict[Vertex, list[tuple[Entry, Vertex]]] = {}
        for entry in entries:
            self.add(entry)

    def add(self, entry: Entry) -> None:
        row, col = (_ROW, entry[0]), (_COL, entry[1])
        self.edges.setdefault(row, []).append((entry, col))
        self.edges.setdefault(col, []).append((entry, row))

    def joined_without(self, entry: Entry) -> bool:
        """Whether ``entry``'s row and column are joined by a path of other edges (it is on a cycle)."""
        start, goal = (_ROW, entry[0]), (_COL, entry[1])
        seen, frontier = {start}, [start]
        while frontier:
            for step, nxt in self.edges.get(frontier.pop(), ()):
                if step == entry or nxt in seen:
                    continue
                if nxt == goal:
                    return True
                seen.add(nxt)
                frontier.append(nxt)
        return False

    def cheapest_cycle(self, entry: Entry, hidden: set[Entry], grid: list[list[int]]) -> list[Entry]:
        """The shown entries to hide to close a cycle through ``entry``, adding the least in total."""
        start, goal = (_ROW, entry[0]), (_COL, entry[1])
        # Cost: the value hidden, then the number of entries (ties go to fewer); hidden entries are free.
        best: dict[Vertex, tuple[int, int]] = {start: (0, 0)}
        came: dict[Vertex, tuple[Vertex, Entry]] = {}
        queue: list[tuple[tuple[int, int], Vertex]] = [((0, 0), start)]
        while queue:
            cost, vertex = heapq.heappop(queue)
            if vertex == goal:
                break
            if cost > best[vertex]:
                continue
            for step, nxt in self.edges.get(vertex, ()):
                if step == entry:
                    continue
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
