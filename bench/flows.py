"""Flow overhead and Dask speed-up, measured as ratios in one run.

On the same generated corpus (200 stories of shuffled sample sentences), each into a fresh store:

- direct: :func:`pipeline.jobs.main` (ingest → code → report), no Prefect at all;
- flow:   the ``main`` flow with the local runner, on an already running temporary server
          (the server's start-up is reported on its own: ``kracht run`` pays it once per run,
          overlapped with loading kracht);
- dask:   the ``main`` flow with ``--runner dask``: 2 local worker processes, cluster start-up
          included, and on a cluster that is already up.

Prints a table; target: flow overhead < 25 % over direct. Usage: ``python -m bench.flows [N]``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - started, result


def main(n_docs: int = 200, repeats: int = 3) -> None:
    from flows.environment import prefect_home, prepare
    from flows.server import TemporaryServer
    from pipeline.config import get_settings
    from tests.integration.flows_support import generated_corpus

    work = Path(tempfile.mkdtemp(prefix="kracht-bench-flows-"))
    corpus = generated_corpus(work / "corpus", n_docs)
    settings = get_settings(home=work / "prefect-home")
    prepare(settings, quiet=True)
    server = TemporaryServer(prefect_home(settings))
    server_s, _ = timed(lambda: server.start().wait())

    from flows.local import temporary_server_settings
    from flows.main import main_flow
    from flows.runners import dask_cluster
    from pipeline import jobs
    from pipeline.store import Store

    def direct(home: Path) -> None:
        s = get_settings(home=home)
        store = Store.from_settings(s)
        jobs.main([corpus], s, store)
        store.close()

    def as_flow(home: Path, **kw) -> None:
        result = main_flow([str(corpus)], home=str(home), push=False, **kw)
        assert result["ingest"]["documents_added"] == n_docs, result["ingest"]

    times: dict[str, list[float]] = {"direct": [], "flow": [], "dask": [], "dask_warm": []}
    with temporary_server_settings(server.api_url):
        as_flow(work / "warmup")  # imports, first flow registration
        for i in range(repeats):  # interleaved, so load from other processes hits both alike
            times["direct"].append(timed(direct, work / f"direct{i}")[0])
            times["flow"].append(timed(as_flow, work / f"flow{i}")[0])
        times["dask"].append(timed(as_flow, work / "dask0", runner="dask")[0])
        with dask_cluster("dask", None) as address:
            times["dask_warm"].append(
                timed(as_flow, work / "dask1", runner="dask", dask_address=address)[0]
            )
    server.stop()

    best = {k: min(v) for k, v in times.items()}
    overhead = best["flow"] / best["direct"] - 1
    median_overhead = statistics.median(times["flow"]) / statistics.median(times["direct"]) - 1
    print(f"kracht flows bench: {n_docs} documents, best of {repeats} (direct, flow)")
    print(f"{'what':<44}{'seconds':>10}")
    print(f"{'direct pipeline (jobs.main)':<44}{best['direct']:>10.2f}")
    print(f"{'main flow, local runner':<44}{best['flow']:>10.2f}")
    print(f"{'main flow, dask 2 workers (+cluster start)':<44}{best['dask']:>10.2f}")
    print(f"{'main flow, dask 2 workers (cluster up)':<44}{best['dask_warm']:>10.2f}")
    print(f"{'temporary Prefect server start-up':<44}{server_s:>10.2f}")
    print(f"flow overhead vs direct: {overhead:+.1%} best-of, {median_overhead:+.1%} median "
          f"(target < 25%) {'OK' if overhead < 0.25 else 'MISSED'}")
    print("runs (s): " + "; ".join(f"{k} " + ", ".join(f"{t:.1f}" for t in v)
                                   for k, v in times.items()))
    print(f"dask speed-up vs local flow: x{best['flow'] / best['dask']:.2f} with cluster start, "
          f"x{best['flow'] / best['dask_warm']:.2f} on a running cluster")


if __name__ == "__main__":
    # run as a script (``python bench/flows.py``): this folder must not shadow the flows package
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
