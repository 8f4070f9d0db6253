import numpy as np
import pytest
import threadpoolctl  # a hard dependency: no skip when it is missing

from saliency_widgets import MaskUpdate, Rise
from saliency_widgets.models.backends import numpy_backend

from ..conftest import RegionModel


@pytest.mark.parametrize("make", [lambda m: Rise(m, masks=24, grid=4, batch_size=8, seed=0),
                                  lambda m: MaskUpdate(m, steps=24, chains=4, grid=4, batch_size=8, seed=0)],
                         ids=["rise", "mask-update"])
def test_host_mask_products_keep_blas_on_one_thread(make, monkeypatch):
    # OpenBLAS's worker threads spin after a multi-threaded call and slow the model's next forward
    # pass: the explainers' own products must run with BLAS limited to one thread.
    if not threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers:
        pytest.skip("NumPy's BLAS is not visible to threadpoolctl here")
    seen, real = [], np.matmul

    def spy(a, b):
        seen.append({i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"})
        return real(a, b)

    monkeypatch.setattr(np, "matmul", spy)
    make(RegionModel()).explain(np.random.default_rng(0).uniform(0, 1, (16, 16, 3)).astype(np.float32), 0)
    assert seen and all(threads == {1} for threads in seen)


def test_host_products_match_numpy():
    xp = numpy_backend().xp
    rng = np.random.default_rng(0)
    a, b = rng.random((3, 5, 4), np.float32), rng.random((3, 4, 6), np.float32)
    np.testing.assert_allclose(xp.matmul(a, b), np.matmul(a, b), rtol=1e-6)
    w, m = rng.random(3, np.float32), rng.random((3, 5, 6), np.float32)
    np.testing.assert_allclose(xp.tensordot(w, m, axes=1), np.tensordot(w, m, axes=1), rtol=1e-5)
    np.testing.assert_allclose(xp.tensordot(a, b, axes=([2], [1])), np.tensordot(a, b, axes=([2], [1])), rtol=1e-5)


def test_one_blas_thread_restores_blas_when_threads_overlap():
    # Two threads' contexts overlapping (a widget's worker beside another explainer's thread): BLAS is
    # at one thread inside the first, and back at its own count once both have left, every time.
    import threading

    from saliency_widgets.models.backends import one_blas_thread

    def counts():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]

    before = counts()
    if not before:
        pytest.skip("NumPy's BLAS is not visible to threadpoolctl here")
    for _ in range(20):
        a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
        inside_a = []

        def a():
            with one_blas_thread():
                a_in.set()
                b_in.wait(5)
                inside_a.append(counts())
            a_out.set()

        def b():
            a_in.wait(5)
            with one_blas_thread():
                b_in.set()
                a_out.wait(5)

        threads = [threading.Thread(target=a), threading.Thread(target=b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert inside_a == [[1] * len(before)]
        assert counts() == before
    with one_blas_thread():  # nested in one thread: the inner context leaves the outer's limit alone
        with one_blas_thread():
            pass
        assert counts() == [1] * len(before)
    assert counts() == before
