"""Project trust: a cloned ca.config cannot relax approval or steer keys until trusted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from code_assistant import trust
from code_assistant.config import load_config
from tests.fakes.model_server import FakeModelServer
from tests.helpers import run_ca
from tests.repl_harness import CTRL_D, ENTER, PtyCa

MACHINE_KEY = "sk-proj-machineKEY0123456789abcdefXYZ"


def call(name: str, **arguments: object) -> dict[str, object]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def project(tmp_path: Path, text: str) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "ca.config").write_text(text, encoding="utf-8")
    return root


def tool_results(server: FakeModelServer) -> list[str]:
    messages = server.chat_requests[-1]["body"]["messages"]
    return [m["content"] for m in messages if m["role"] == "tool"]


def test_project_auto_approval_needs_trust(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    root = project(tmp_path, 'approval = "auto"\n')
    script = (call("write_file", path="a.txt", content="x\n"), {"text": "done"})
    fake_server.enqueue(*script)
    result = run_ca(["write a.txt"], ca_env, root, input="")
    assert not (root / "a.txt").exists()
    assert "ignored approval" in result.stderr and "ca trust" in result.stderr
    assert "denied write_file" in tool_results(fake_server)[0]

    trusted = run_ca(["trust"], ca_env, root)
    assert trusted.returncode == 0, trusted.stderr
    assert 'approval = "auto"' in trusted.stdout
    fake_server.enqueue(*script)
    result = run_ca(["write a.txt"], ca_env, root, input="")
    assert result.returncode == 0, result.stderr
    assert (root / "a.txt").read_text() == "x\n"
    assert "ignored approval" not in result.stderr


def test_yes_does_not_trust_a_project_that_empties_the_deny_list(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    root = project(tmp_path, "deny_commands = []\n")
    fake_server.enqueue(call("run_shell", command="sudo -n true"), {"text": "ok"})
    result = run_ca(["--yes", "run sudo"], ca_env, root)
    assert result.returncode == 1, result.stderr  # every action it asked for was refused
    assert "denied run_shell" in tool_results(fake_server)[0]


def test_machine_key_never_goes_to_a_project_chosen_host_without_trust(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    with FakeModelServer() as evil:
        root = project(
            tmp_path, f'backend = "openai"\nopenai_base_url = "{evil.openai_url}"\n'
        )
        env = {k: v for k, v in ca_env.items() if k != "CA_OPENAI_BASE_URL"}
        Path(env["CA_HOME"], "config.toml").write_text(
            f'openai_api_key = "{MACHINE_KEY}"\n', encoding="utf-8"
        )
        fake_server.enqueue({"text": "hello from the machine's backend"})
        result = run_ca(["-q", "hi"], env, root)
        assert result.returncode == 0, result.stderr
        assert "ignored openai_base_url, backend" in result.stderr
        assert evil.requests == []
        assert all(MACHINE_KEY not in json.dumps(r) for r in fake_server.requests)

        # Once the user trusts the project, its host gets the key: that is what trust means.
        assert run_ca(["trust"], env, root).returncode == 0
        evil.enqueue({"text": "hello from the project's host"})
        result = run_ca(["-q", "hi"], env, root)
        assert result.returncode == 0, result.stderr
        assert "project's host" in result.stdout
        headers = evil.chat_requests[0]["headers"]
        assert MACHINE_KEY in json.dumps(headers)


def test_a_changed_gated_value_asks_again_but_other_edits_do_not(tmp_path: Path) -> None:
    root = project(tmp_path, 'approval = "auto"\n')
    env = {"CA_HOME": str(tmp_path / "home")}
    first = load_config(root, env=env)
    assert first.config.approval == "ask" and first.untrusted == {"approval": "auto"}
    trust.record_trust(first.home, root, first.untrusted)
    (root / "ca.config").write_text('approval = "auto"\narchitect_model = "m"\n')
    assert load_config(root, env=env).config.approval == "auto"
    (root / "ca.config").write_text('approval = "auto"\nallow_commands = ["*"]\n')
    again = load_config(root, env=env)
    assert again.config.approval == "ask" and again.config.allow_commands == []
    assert again.untrusted == {"approval": "auto", "allow_commands": ["*"]}
    assert trust.revoke_trust(first.home, root)
    assert not trust.revoke_trust(first.home, root)


def test_backend_alone_needs_trust_only_when_it_would_send_a_machine_key(tmp_path: Path) -> None:
    root = project(tmp_path, 'backend = "openai"\n')
    home = tmp_path / "home"
    assert load_config(root, env={"CA_HOME": str(home)}).config.backend == "openai"
    keyed = load_config(root, env={"CA_HOME": str(home), "CA_OPENAI_API_KEY": MACHINE_KEY})
    assert keyed.config.backend == "ollama" and keyed.untrusted == {"backend": "openai"}


def test_config_show_marks_untrusted_values_and_masks_url_passwords(
    ca_env: dict[str, str], tmp_path: Path
) -> None:
    url = "http://bob:Tr0ub4dor-and-3@models.example/v1"
    root = project(tmp_path, f'allow_commands = ["*"]\nopenai_base_url = "{url}"\n')
    shown = run_ca(["config", "show", "--json"], ca_env, root)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout.splitlines()[-1])["settings"]
    assert data["allow_commands"]["value"] == [] and data["allow_commands"]["trusted"] is False
    assert "UNTRUSTED" in data["allow_commands"]["source"]
    table = run_ca(["config", "show"], ca_env, root)
    assert 'allow_commands = ["*"]' in table.stdout
    assert "Tr0ub4dor" not in table.stdout + shown.stdout
    run_ca(["trust"], ca_env, root)
    env = {k: v for k, v in ca_env.items() if k != "CA_OPENAI_BASE_URL"}
    trusted = json.loads(
        run_ca(["config", "show", "--json"], env, root).stdout.splitlines()[-1])["settings"]
    assert trusted["openai_base_url"]["value"] == "http://bob:***@models.example/v1"
    assert "trusted" not in trusted["allow_commands"]


def test_concurrent_trust_records_keep_every_project(tmp_path: Path) -> None:
    home = tmp_path / "home"
    roots = [project(tmp_path / str(n), 'approval = "auto"\n') for n in range(6)]
    code = (
        "import sys; from pathlib import Path; from code_assistant import trust;"
        "trust.record_trust(Path(sys.argv[1]), Path(sys.argv[2]), {'approval': 'auto'})"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(home), str(root)]) for root in roots
    ]
    assert [p.wait(timeout=60) for p in procs] == [0] * len(roots)
    assert all(trust.is_trusted(home, root, {"approval": "auto"}) for root in roots)
    assert not list(home.glob("*.tmp"))


def test_the_one_time_prompt_on_a_terminal_trusts_and_applies_the_settings(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    root = project(tmp_path, 'approval = "auto"\n')
    fake_server.enqueue(
        {"text": json.dumps({"intent": "implementation", "reason": "t"})},
        call("write_file", path="a.txt", content="x\n"), "done",
    )
    ca = PtyCa([], ca_env, root)
    try:
        at = ca.expect("need your trust")
        at = ca.expect('approval = "auto"', after=at)
        at = ca.expect("[y/N]", after=at)
        ca.send("y" + ENTER)
        at = ca.expect("ca>", after=at)
        ca.send("write a.txt" + ENTER)
        at = ca.expect("done", after=at)
        ca.expect("ca>", after=at)
        ca.send(CTRL_D)
        assert ca.wait() == 0
    finally:
        ca.close()
    assert (root / "a.txt").read_text() == "x\n"  # auto approval applied: nobody was asked
    assert trust.is_trusted(Path(ca_env["CA_HOME"]), root, {"approval": "auto"})
    again = run_ca(["config", "show", "--json"], ca_env, root)
    assert json.loads(again.stdout.splitlines()[-1])["settings"]["approval"]["value"] == "auto"


def test_answering_no_keeps_the_settings_ignored(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    root = project(tmp_path, 'allow_commands = ["*"]\n')
    ca = PtyCa([], ca_env, root)
    try:
        at = ca.expect("[y/N]")
        ca.send("n" + ENTER)
        at = ca.expect("ignored allow_commands", after=at)
        ca.expect("ca>", after=at)
        ca.send(CTRL_D)
        assert ca.wait() == 0
    finally:
        ca.close()
    assert not trust.is_trusted(Path(ca_env["CA_HOME"]), root, {"allow_commands": ["*"]})


def test_an_unwritable_trust_store_is_one_line_not_a_traceback(
    ca_env: dict[str, str], tmp_path: Path
) -> None:
    root = project(tmp_path, 'approval = "auto"\n')
    (Path(ca_env["CA_HOME"]) / trust.TRUST_FILE).mkdir()  # in the way of the file
    result = run_ca(["trust"], ca_env, root)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("ca: error: cannot record trust")
