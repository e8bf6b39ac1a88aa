"""Small-cell suppression: no hidden entry can be worked out from the shown cells and totals."""

from __future__ import annotations

from collections.abc import Sequence

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


def another_value_fits(grid: list[list[int]], hidden: frozenset[Entry], target: Entry) -> bool:
    """Whether non-negative integers other than the true one fit ``target``, with every shown entry and
    every row and column sum of the grid (cells, then totals) as they are: an exhaustive search."""
    rows, cols = len(grid) - 1, len(grid[0]) - 1
    unknown = sorted(hidden, key=lambda e: e != target)  # the target first
    cap = 2 * grid[rows][cols] + 2  # a value past this cannot fit unless the grand total is hidden too

    def consistent(values: dict[Entry, int]) -> bool:
        def value(i: int, j: int) -> int | None:
            return values.get((i, j)) if (i, j) in hidden else grid[i][j]

        lines = [[(i, j) for j in range(cols + 1)] for i in range(rows + 1)]  # each row, then its total
        lines += [[(i, j) for i in range(rows + 1)] for j in range(cols + 1)]  # each column, then its total
        for line in lines:
            *parts, whole = (value(i, j) for i, j in line)
            known = sum(p for p in parts if p is not None)
            if whole is not None and (known > whole or (None not in parts and known != whole)):
                return False
        return True

    def search(values: dict[Entry, int], rest: Sequence[Entry]) -> bool:
        if not rest:
            return True
        entry, *others = rest
        for v in range(cap + 1):
            if entry == target and v == grid[target[0]][target[1]]:
                continue
            values[entry] = v
            if consistent(values) and search(values, others):
                return True
            del values[entry]
        return False

    return search({}, unknown)


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
