"""kill -9 in the middle of a registration loses no committed answer: a new process resumes."""

from __future__ import annotations

import signal
import subprocess


from tests.test_sabot_run_loopback import CASEY, RECORDS, WAIT, Bot, _code, _sabot, bot_env, start_api

CHAT = 7401


def test_kill_9_then_resume(tmp_path):
    api = start_api()
    env = bot_env(tmp_path, api)
    (tmp_path / "people.yaml").write_text(RECORDS, encoding="utf-8")
    p = CASEY
    bots: list[Bot] = []

    def send(text, expect):
        api.user_sends(CHAT, text)
        return api.wait_for_bot_messages(CHAT, lambda new: any(expect in m.text for m in new), timeout=WAIT)

    def press(label, expect):
        api.user_presses(CHAT, label)
        return api.wait_for_bot_messages(CHAT, lambda new: any(expect in m.text for m in new), timeout=WAIT)

    try:
        done = subprocess.run(_sabot("records", "import", "people.yaml"), env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        first = Bot(env, tmp_path, "first")
        bots.append(first)
        first.start()
        first.wait_polling(api)
        send("/start", "Have these ready")
        press("Begin registration", "first name")
        send(p["first_name"], "last name")
        send(p["last_name"], "email")
        send(p["email"], "confirmation code")
        code = _code(env, tmp_path, "email", p["email"])
        send(code, "Social Security number")
        send(p["ssn"], "date of birth")

        first.proc.send_signal(signal.SIGKILL)  # no clean shutdown at all
        first.proc.wait(10)

        second = Bot(env, tmp_path, "second")
        bots.append(second)
        second.start()
        second.wait_polling(api)
        # (a reply sent just before the kill may come again first: delivery is at least once)
        status = send("/status", "➡️ Identity")
        text = "\n".join(m.text for m in status)
        assert "What is your date of birth" in text  # the question it was on
        assert "✅ Name and email" in text and "➡️ Identity" in text
        send(p["dob"], "filing status")  # and it carries on from there
        assert second.terminate() == 0
    finally:
        for b in bots:
            b.kill()
        api.stop()
