"""Work spread over threads keeps its order and never queues every job at once."""

from __future__ import annotations

from collections.abc import Iterator

from handover.processes import threaded_map


def test_threaded_map_gives_results_in_order_while_pulling_only_a_few_jobs_ahead() -> None:
    pulled: list[int] = []

    def jobs() -> Iterator[int]:
        for n in range(10_000):
            pulled.append(n)
            yield n

    results = threaded_map(lambda n: n * n, jobs(), threads=2)
    assert next(results) == 0
    assert len(pulled) <= 17, "a quarter of a million futures at once would be too much memory"
    assert list(results) == [n * n for n in range(1, 10_000)]
