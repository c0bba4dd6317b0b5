"""What `spinn run` says about failed ranks: launch.reports and launch.rank, no MPI."""
import json
import os
import signal
import socket

from launch.rank import describe_signal, env_rank, env_size, error_report, write_json
from launch.reports import Reports, describe_failure, exit_code, format_time, read_reports

TRACEBACK = "Traceback (most recent call last):\n  File \"x.py\", line 1\nZeroDivisionError: division by zero\n"


def test_likely_causes_of_signals():
    assert describe_signal(1, 9).startswith("rank 1 was killed by signal 9 (SIGKILL): most likely out of memory")
    assert "dmesg" in describe_signal(1, 9) and "more ranks" in describe_signal(1, 9)
    assert "native code" in describe_signal(0, signal.SIGSEGV)
    assert "scheduler" in describe_signal(0, signal.SIGTERM)
    assert "abort" in describe_signal(0, signal.SIGABRT)
    assert describe_signal(2, 9, "node7").startswith("rank 2 on node7 was killed")
    assert describe_signal(None, 200) == "a rank was killed by signal 200 (signal 200)"


def test_rank_and_size_from_the_launcher_environment():
    assert (env_rank({"PMI_RANK": "3"}), env_size({"PMI_SIZE": "4"})) == (3, 4)
    assert env_rank({"OMPI_COMM_WORLD_RANK": "1"}) == 1
    assert env_rank({"SLURM_PROCID": "5"}) == 5
    assert env_rank({}) is None


def test_the_same_error_on_every_rank_is_printed_once():
    reports = Reports(errors={r: {"traceback": TRACEBACK} for r in range(3)},
                      exits={r: {"returncode": 1, "signal": None} for r in range(3)})
    assert describe_failure(reports, 3) == "spinn: error on all 3 ranks:\n" + TRACEBACK.rstrip()
    assert exit_code(reports) == 1


def test_some_ranks_and_different_errors():
    other = TRACEBACK.replace("ZeroDivisionError", "KeyError")
    reports = Reports(errors={0: {"traceback": TRACEBACK}, 2: {"traceback": TRACEBACK},
                              1: {"traceback": other}})
    text = describe_failure(reports, 4)
    assert text.startswith("spinn: error on ranks 0, 2 (of 4):\n" + TRACEBACK)
    assert text.endswith("spinn: error on rank 1 (of 4):\n" + other.rstrip())


def test_one_rank_job_prints_the_traceback_alone():
    assert describe_failure(Reports(errors={0: {"traceback": TRACEBACK}}), 1) == TRACEBACK.rstrip()


def test_a_killed_rank_comes_first_and_sets_the_exit_code():
    here = socket.gethostname()
    reports = Reports(errors={0: {"traceback": TRACEBACK}},
                      exits={0: {"host": here, "returncode": 1, "signal": None},
                             1: {"host": here, "returncode": None, "signal": 9}})
    lines = describe_failure(reports, 2).splitlines()
    assert lines[0].startswith("spinn: rank 1 was killed by signal 9 (SIGKILL)")
    assert lines[1] == "spinn: error on rank 0 (of 2):"
    assert exit_code(reports) == 128 + 9
    elsewhere = Reports(exits={1: {"host": "node9", "returncode": None, "signal": 15}})
    assert describe_failure(elsewhere, 2).startswith("spinn: rank 1 on node9 was killed by signal 15")


def test_exit_codes():
    reports = Reports(exits={0: {"returncode": 2, "signal": None}, 1: {"returncode": 2, "signal": None}})
    assert describe_failure(reports, 2) == "spinn: all 2 ranks exited with code 2"
    assert exit_code(reports) == 2


def test_reading_a_job_directory(tmp_path):
    write_json(str(tmp_path / "rank1.exit"), {"rank": 1, "signal": 9, "returncode": None})
    write_json(str(tmp_path / "rank0.pid"), {"rank": 0, "pid": os.getpid(), "child": 1})
    write_json(str(tmp_path / "stopped"), {"t": 12.5})
    (tmp_path / "rank0.error").write_text("{half a fi")  # never written so: skipped
    (tmp_path / "rank0.exit.123.partial").write_text("{}")
    (tmp_path / "other").write_text("{}")
    reports = read_reports(str(tmp_path))
    assert reports.exits == {1: {"rank": 1, "signal": 9, "returncode": None}}
    assert list(reports.pids) == [0] and reports.errors == {}
    assert reports.stopped == {"t": 12.5} and reports.failed
    assert not read_reports(str(tmp_path / "missing")).failed
    assert json.loads((tmp_path / "stopped").read_text()) == {"t": 12.5}


def test_error_report_keeps_the_script_frames():
    try:
        {}["key"]
    except KeyError as error:
        report = error_report(3, error)
    assert (report["rank"], report["type"], report["message"]) == (3, "KeyError", "'key'")
    assert report["traceback"].startswith("Traceback (most recent call last):\n")
    assert report["traceback"].endswith("KeyError: 'key'\n")


def test_format_time():
    assert [format_time(t) for t in (523.4000000001, 1e7, 0.0, 0.1)] == ["523.4", "10000000", "0", "0.1"]
