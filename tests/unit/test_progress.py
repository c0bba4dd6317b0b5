"""The run() progress bar (drawn on rank 0 only, after 2 s)."""


def test_progress_bar_draws_after_two_seconds():
    import io
    from spinn.simulation import Progress
    out = io.StringIO()
    p = Progress(0, 1000, 0.1, stream=out)
    p.update(10)
    assert out.getvalue() == ""            # nothing during the first 2 s
    p.t0 -= 5.0
    p.update(500)
    p.finish(1000)
    text = out.getvalue()
    assert "50.0/100.0 ms" in text and "100.0/100.0 ms" in text and text.endswith("\n")
    assert "real-time factor" in text
