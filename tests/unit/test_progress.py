"""The run() progress (rank 0 only, after 2 s): a bar on a terminal, plain
lines every tenth of the run elsewhere."""


def test_progress_bar_draws_after_two_seconds():
    import io
    from spinn.simulation import Progress
    out = io.StringIO()
    p = Progress(0, 1000, 0.1, stream=out, style="bar")
    p.update(10)
    assert out.getvalue() == ""            # nothing during the first 2 s
    p.t0 -= 5.0
    p.update(499)                          # step 499 done: 500 steps
    p.finish(1000)
    text = out.getvalue()
    assert "50.0/100.0 ms" in text and "100.0/100.0 ms" in text and text.endswith("\n")
    assert "real-time factor" in text


def _fake_clock(monkeypatch):
    """A settable perf_counter for spinn.simulation (seconds in ``now[0]``)."""
    import spinn.simulation as simulation
    now = [100.0]

    class Clock:
        @staticmethod
        def perf_counter():
            return now[0]
    monkeypatch.setattr(simulation, "time", Clock)
    return now


def test_bar_shows_an_eta_and_the_time_taken(monkeypatch):
    import io
    from spinn.simulation import Progress
    now = _fake_clock(monkeypatch)
    out = io.StringIO()
    p = Progress(0, 1000, 0.1, stream=out, style="bar")
    now[0] += 10.0
    p.update(249)                          # 250 steps in 10 s: 750 left, 30 s
    assert "ETA 0:30" in out.getvalue() and out.getvalue().startswith("\r[")
    now[0] += 30.0
    p.finish(1000)
    assert "took 0:40" in out.getvalue() and out.getvalue().endswith("\n")


def test_lines_every_tenth_of_the_run_without_carriage_returns(monkeypatch):
    import io
    from spinn.simulation import Progress
    now = _fake_clock(monkeypatch)
    out = io.StringIO()
    p = Progress(500, 1000, 0.1, stream=out, style="lines")
    for k in range(500, 1500):             # 10 ms per step: the run takes 10 s
        now[0] += 0.01
        p.update(k)
    p.finish(1500)
    text = out.getvalue()
    lines = text.splitlines()
    assert "\r" not in text and text.endswith("\n")
    # nothing during the first 2 s (20 % of the run), then one line per tenth
    assert [line.split("%")[0].split()[-1] for line in lines] == [
        "20", "30", "40", "50", "60", "70", "80", "90", "100"]
    assert "50.0/100.0 ms simulated" in lines[3] and "100 steps/s" in lines[3]
    assert "ETA 0:05" in lines[3]          # 500 steps left at 100 steps/s
    assert "100.0/100.0 ms simulated" in lines[-1] and "took 0:10" in lines[-1]


def test_short_runs_print_nothing_in_either_style(monkeypatch):
    import io
    from spinn.simulation import Progress
    now = _fake_clock(monkeypatch)
    for style in ("bar", "lines"):
        out = io.StringIO()
        p = Progress(0, 100, 0.1, stream=out, style=style)
        for k in range(100):
            now[0] += 0.019                # 1.9 s in all
            p.update(k)
        p.finish(100)
        assert out.getvalue() == ""


def test_style_follows_the_stream():
    import io
    from spinn.simulation import Progress

    class Tty(io.StringIO):
        def isatty(self):
            return True
    assert Progress(0, 10, 0.1, stream=Tty()).style == "bar"
    assert Progress(0, 10, 0.1, stream=io.StringIO()).style == "lines"


def test_who_shows_progress(monkeypatch):
    """Rank 0 unless quiet; a bar on a terminal or under ``spinn run``
    (SPINN_PROGRESS=1), lines elsewhere; SPINN_PROGRESS=0 turns it off."""
    import sys
    import spinn as sim
    from spinn.pynn.simulator import state
    monkeypatch.delenv("SPINN_PROGRESS", raising=False)
    monkeypatch.delenv("SPINN_QUIET", raising=False)
    sim.setup(timestep=0.1)
    try:
        monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
        assert state.wants_progress() == "lines"
        monkeypatch.setenv("SPINN_PROGRESS", "1")
        assert state.wants_progress() == "bar"
        monkeypatch.setenv("SPINN_PROGRESS", "0")
        assert state.wants_progress() is False
        monkeypatch.delenv("SPINN_PROGRESS")
        monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
        assert state.wants_progress() == "bar"
        sim.setup(timestep=0.1, quiet=True)
        assert state.wants_progress() is False
        monkeypatch.setenv("SPINN_QUIET", "1")
        sim.setup(timestep=0.1)
        assert state.wants_progress() is False
    finally:
        sim.end()


def test_a_run_writes_progress_lines_to_stderr(monkeypatch, capsys):
    """A real run() of a few steps with the delay set to 0: lines on a
    non-terminal stderr, and nothing when quiet."""
    import spinn as sim
    from spinn.simulation import Progress
    monkeypatch.setattr(Progress, "DELAY", 0.0)
    monkeypatch.delenv("SPINN_PROGRESS", raising=False)
    monkeypatch.delenv("SPINN_QUIET", raising=False)
    for quiet in (False, True):
        sim.setup(timestep=0.1, quiet=quiet)
        sim.Population(10, sim.IF_curr_exp())
        sim.run(10.0)
        sim.end()
        err = capsys.readouterr().err
        if quiet:
            assert "spinn: run" not in err
        else:
            runs = [line for line in err.splitlines() if line.startswith("spinn: run")]
            assert len(runs) == 10 and "\r" not in err, err
            assert "10.0/10.0 ms simulated" in runs[-1]
