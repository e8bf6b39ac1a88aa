"""Small-cell suppression: no hidden entry can be worked out from the shown cells and totals."""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import given, settings
from hypothesis import strategies as st

from haven.reports.suppression import Entry, grid_of, suppress

tables = st.integers(1, 3).flatmap(
    lambda rows: st.integers(1, 4).flatmap(
        lambda cols: st.lists(
            st.lists(st.one_of(st.just(0), st.integers(1, 4), st.integers(5, 12)), min_size=cols, max_size=cols),
            min_size=rows,
            max_size=rows,
        )
    )
)


def fits(grid: list[list[int]], hidden: frozenset[Entry], other: list[list[int]]) -> bool:
    """Whether ``other`` is a table someone who sees only the shown entries cannot tell from ``grid``:
    non-negative, the same shown entries, and every row and column adding up to its total."""
    rows, cols = len(grid) - 1, len(grid[0]) - 1
    return (
        all(v >= 0 for row in other for v in row)
        and all(other[i][j] == grid[i][j] for i in range(rows + 1) for j in range(cols + 1) if (i, j) not in hidden)
        and all(sum(other[i][:cols]) == other[i][cols] for i in range(rows + 1))
        and all(sum(other[i][j] for i in range(rows)) == other[rows][j] for j in range(cols + 1))
    )


def another_value_fits(grid: list[list[int]], hidden: frozenset[Entry], target: Entry) -> bool:
    """Whether a second table, with another value at ``target``, :func:`fits` what is shown.

    Candidates come from every simple cycle through ``target`` along hidden entries (alternately
    sharing a row and a column): moving 1 around it, either way. Only a candidate that passes
    :func:`fits` counts, so a wrong suppression can never pass here.
    """
    rows, cols = len(grid) - 1, len(grid[0]) - 1

    def paths(path: list[Entry], along_row: bool) -> Iterator[list[Entry]]:
        last = path[-1]
        for nxt in hidden:
            if nxt in path and not (nxt == path[0] and len(path) >= 4):
                continue
            if (nxt[0] == last[0]) if along_row else (nxt[1] == last[1]):
                if nxt == path[0]:
                    yield path
                elif len(path) < 12:
                    yield from paths([*path, nxt], not along_row)

    for cycle in paths([target], along_row=True):
        for way in (1, -1):
            other = [row[:] for row in grid]
            for n, (i, j) in enumerate(cycle):
                total = (i == rows) != (j == cols)  # a row or column total moves opposite to its cells
                other[i][j] += way * (-1) ** n * (-1 if total else 1)
            if other[target[0]][target[1]] != grid[target[0]][target[1]] and fits(grid, hidden, other):
                return True
    return False


@settings(max_examples=150, deadline=None)
@given(tables, st.integers(1, 6))
def test_no_suppressed_entry_is_recoverable_from_the_shown_cells_and_totals(
    cells: list[list[int]], threshold: int
) -> None:
    grid = grid_of(cells)
    hidden = suppress(cells, threshold)
    for i, row in enumerate(grid):
        for j, value in enumerate(row):
            if 0 < value < threshold:
                assert (i, j) in hidden, "every small count, cell or total, is hidden"
    assert all(grid[i][j] > 0 for i, j in hidden), "zeros are never hidden (they would not protect anything)"
    for target in hidden:
        assert another_value_fits(grid, hidden, target), f"{target} can be worked out in {grid}"


def test_one_small_cell_takes_the_next_smallest_of_its_row_and_column() -> None:
    cells = [[2, 30, 9], [40, 50, 60], [8, 70, 80]]
    hidden = suppress(cells, 5)
    assert hidden == {(0, 0), (0, 2), (2, 0), (2, 2)}  # 2, then 9 beside it, 8 below it, 80 to close the square


def test_a_lone_row_hides_its_total_rather_than_nothing() -> None:
    # One row: its total equals the sum of its cells, so a small cell needs a second cell hidden, and
    # the column totals (equal to the cells) must go too.
    hidden = suppress([[3, 20]], 5)
    grid = grid_of([[3, 20]])
    assert (0, 0) in hidden and all(grid[i][j] for i, j in hidden)
    assert another_value_fits(grid, hidden, (0, 0))


def test_threshold_one_hides_nothing() -> None:
    assert suppress([[1, 2], [3, 4]], 1) == frozenset()
