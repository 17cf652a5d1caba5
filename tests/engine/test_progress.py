"""Progress that reaches the runner's terminal (sr_lib.engine.progress): bars teed into the log
named by $SR_PROGRESS_LOG, events as their own lines, the follower relaying both."""
from __future__ import annotations

import io

from sr_lib.engine import progress


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_without_the_variable_nothing_is_written(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(progress.ENV, raising=False)
    progress.event("nobody hears this")
    b = progress.bar(total=2, desc="plain", mininterval=0)
    b.update(2)
    b.close()
    assert "plain" in capsys.readouterr().err and not list(tmp_path.iterdir())


def test_bar_and_events_go_to_the_log_and_the_follower_relays_them(tmp_path, monkeypatch, capsys):
    log = tmp_path / "p.log"
    log.write_text("")
    monkeypatch.setenv(progress.ENV, str(log))
    out = io.StringIO()
    seen = []
    with progress.Follower(str(log), lambda m: seen.append(m) or f"EVENT {m}", out=out, interval=0.01):
        b = progress.bar(total=4, desc="teed", mininterval=0, ascii=True)
        for _ in range(4):
            b.update(1)
        b.close()
        progress.event("train k: done, 4 steps in 1 s")
    assert "teed" in capsys.readouterr().err                    # the notebook still gets the bar
    text = out.getvalue()
    assert seen == ["train k: done, 4 steps in 1 s"]
    assert "EVENT train k: done" in text
    assert "\r" not in text and text.count("teed") == 1           # not a terminal: the finished bar only


def test_follower_on_a_terminal_shows_refreshes_and_keeps_events_on_their_own_line(tmp_path):
    log = tmp_path / "p.log"
    log.write_text("a 1/3\ra 2/3\r" + progress.EVENT + "ev\n" + "a 3/3\n")
    out = _Tty()
    f = progress.Follower(str(log), lambda m: f"<{m}>", out=out)
    f.poll()
    assert out.getvalue() == "\ra 1/3\ra 2/3\n<ev>\na 3/3\n"


def test_time_formats():
    assert progress.hms(3725) == "1:02:05" and progress.hms(None) == "?"
    assert progress.human(12) == "12 s" and progress.human(95) == "1.6 min"
    assert progress.human(3725) == "1 h 02 min" and progress.human(None) == "unknown"


def test_a_training_run_reports_its_start_end_and_cache_hits(tmp_path, monkeypatch):
    from sr_lib.engine.train import train
    log = tmp_path / "p.log"
    monkeypatch.setenv(progress.ENV, str(log))
    monkeypatch.setenv("SR_RUNS", str(tmp_path / "runs"))
    train("liif", "edsr-baseline", profile="smoke", seed=0)
    model = train("liif", "edsr-baseline", profile="smoke", seed=0)
    key = model.train_info["key"]
    events = [line[1:] for line in log.read_text().split("\n") if line.startswith(progress.EVENT)]   # not splitlines: \x1e splits
    assert events[0] == f"train {key}: start, 4 steps"
    assert events[1].startswith(f"train {key}: done, 4 steps in ")
    assert events[2] == f"train {key}: from the run cache (4 steps)"
    assert f"{key}: 100%" in log.read_text()                      # the bar went to the log too


def test_a_quiet_spell_is_broken_by_a_heartbeat(tmp_path):
    import time
    log = tmp_path / "p.log"
    log.write_text("")
    out = io.StringIO()
    with progress.Follower(str(log), lambda m: m, out=out, interval=0.01, on_quiet=lambda: "still going",
                           quiet_s=0.05):
        time.sleep(1.0)
    assert "still going" in out.getvalue()
