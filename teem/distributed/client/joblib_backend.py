"""``joblib.parallel_config(backend='teem')``: joblib's Parallel on the current teem Client."""

from __future__ import annotations

import concurrent.futures as cf
import uuid

from joblib._utils import _retrieve_traceback_capturing_wrapped_call, _TracebackCapturingWrapper
from joblib.parallel import AutoBatchingMixin, ParallelBackendBase, register_parallel_backend

__all__ = ["TeemBackend", "register"]


class TeemBackend(AutoBatchingMixin, ParallelBackendBase):
    """Runs joblib's batches of calls as tasks on a teem cluster."""

    MIN_IDEAL_BATCH_DURATION = 0.2
    MAX_IDEAL_BATCH_DURATION = 1.0
    supports_retrieve_callback = True
    default_n_jobs = -1

    def __init__(self, client=None, **submit_kwargs):
        super().__init__()
        if client is None:
            from teem.distributed.client.client import default_client
            client = default_client()
        self.client = client
        self.submit_kwargs = submit_kwargs
        self._pending: set = set()

    def configure(self, n_jobs=1, parallel=None, **backend_args):
        self.parallel = parallel
        return self.effective_n_jobs(n_jobs)

    def effective_n_jobs(self, n_jobs):
        return max(1, sum(self.client.nthreads().values()))

    def get_nested_backend(self):
        from joblib.parallel import ThreadingBackend
        return ThreadingBackend(), None

    def submit(self, func, callback=None):
        result = cf.Future()
        result.get = result.result  # joblib's AsyncResult API
        future = self.client.submit(_TracebackCapturingWrapper(func), pure=False,
                                    key=f"joblib-batch-{uuid.uuid4().hex}", **self.submit_kwargs)
        self._pending.add(future)

        def done(f):
            self._pending.discard(f)
            try:
                value = f.result()
            except BaseException as exc:
                result.set_exception(exc)
                value = exc
            else:
                result.set_result(value)
            if callback is not None:
                callback(value)
        future.add_done_callback(done)
        return result

    def retrieve_result_callback(self, out):
        return _retrieve_traceback_capturing_wrapped_call(out)

    def abort_everything(self, ensure_ready=True):
        pending, self._pending = list(self._pending), set()
        if pending:
            self.client.cancel(pending)


def register() -> None:
    register_parallel_backend("teem", TeemBackend)
