"""vidgan.stopping: the first SIGTERM / SIGINT is a request, the second stops at once."""

import os
import signal
import threading

import pytest

from vidgan import stopping


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_first_signal_is_a_request_second_interrupts(sig):
    before = signal.getsignal(sig)
    with stopping.StopSignals() as stop:
        assert stop.requested is None
        os.kill(os.getpid(), sig)  # delivered to the main thread before kill returns
        assert stop.requested == sig.name
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), sig)
    assert signal.getsignal(sig) is before  # the previous handler is back


def test_outside_the_main_thread_it_does_nothing():
    seen = []

    def body():
        with stopping.StopSignals() as stop:
            seen.append((stop.requested, signal.getsignal(signal.SIGTERM)))

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert seen == [(None, signal.getsignal(signal.SIGTERM))]
