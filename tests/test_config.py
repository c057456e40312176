"""Config layers, precedence, machine-only refusal, provenance and bad values."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from code_assistant.config import (
    PROJECT_FILE,
    Config,
    effective_values,
    find_project_root,
    is_machine_only,
    load_config,
    render_config_file,
    write_config_file,
)
from code_assistant.errors import ConfigError


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    project = tmp_path / "project"
    home = tmp_path / "home"
    project.mkdir()
    home.mkdir()
    return project, home, {"CA_HOME": str(home)}


def test_defaults_sized_for_a_cpu_machine(dirs: tuple[Path, Path, dict[str, str]]) -> None:
    project, _, env = dirs
    loaded = load_config(project, env=env)
    assert loaded.config.architect_model == "qwen2.5-coder:7b"
    assert loaded.config.implementer_model == "qwen2.5-coder:14b"
    assert loaded.config.embedding_model == "nomic-embed-text"
    assert loaded.config.num_ctx == 8192
    assert set(loaded.sources.values()) == {"default"}


def test_each_layer_overrides_the_one_below(dirs: tuple[Path, Path, dict[str, str]]) -> None:
    project, home, env = dirs
    (home / "config.toml").write_text(
        'architect_model = "g-arch"\nimplementer_model = "g-impl"\n'
        'reviewer_model = "g-rev"\ntester_model = "g-test"\n'
    )
    (project / PROJECT_FILE).write_text(
        'implementer_model = "p-impl"\nreviewer_model = "p-rev"\ntester_model = "p-test"\n'
    )
    env = {**env, "CA_REVIEWER_MODEL": "e-rev", "CA_TESTER_MODEL": "e-test"}
    loaded = load_config(project, cli={"tester_model": "c-test", "docs_model": None}, env=env)
    config, sources = loaded.config, loaded.sources
    assert (config.architect_model, sources["architect_model"]) == (
        "g-arch", f"global ({home / 'config.toml'})")
    assert (config.implementer_model, sources["implementer_model"]) == (
        "p-impl", f"project ({project / PROJECT_FILE})")
    assert (config.reviewer_model, sources["reviewer_model"]) == ("e-rev", "env")
    assert (config.tester_model, sources["tester_model"]) == ("c-test", "cli")
    # A None CLI value means "flag not given": the default stays.
    assert (config.docs_model, sources["docs_model"]) == ("qwen2.5-coder:7b", "default")


def test_env_values_are_parsed_by_type(dirs: tuple[Path, Path, dict[str, str]]) -> None:
    project, _, env = dirs
    env = {**env, "CA_NUM_CTX": "16384", "CA_WEB_SEARCH_ENABLED": "true",
           "CA_ALLOW_COMMANDS": '["pytest*", "ls*"]'}
    config = load_config(project, env=env).config
    assert config.num_ctx == 16384
    assert config.web_search_enabled is True
    assert config.allow_commands == ["pytest*", "ls*"]


def test_machine_only_keys_are_refused_in_the_project_file(
    dirs: tuple[Path, Path, dict[str, str]],
) -> None:
    project, home, env = dirs
    (home / "config.toml").write_text('openai_api_key = "sk-global-value-123"\n')
    (project / PROJECT_FILE).write_text(
        'openai_api_key = "sk-project-value"\nsessions_dir = "/tmp/steal"\n'
        'num_ctx = 4096\n'
    )
    loaded = load_config(project, env=env)
    assert loaded.config.openai_api_key == "sk-global-value-123"
    assert loaded.config.sessions_dir == ""
    assert loaded.config.num_ctx == 4096
    assert len(loaded.warnings) == 2
    first = loaded.warnings[0]
    assert "openai_api_key" in first and str(project / PROJECT_FILE) in first
    assert "\n" not in first


@given(st.from_regex(r"[a-z]{1,12}_(key|token|secret|password)", fullmatch=True))
def test_every_secret_suffix_is_machine_only(key: str) -> None:
    assert is_machine_only(key)


def test_ordinary_keys_are_not_machine_only() -> None:
    assert not is_machine_only("num_ctx")
    assert not is_machine_only("implementer_model")


def test_invalid_toml_names_line_and_column(dirs: tuple[Path, Path, dict[str, str]]) -> None:
    project, _, env = dirs
    (project / PROJECT_FILE).write_text('backend = "ollama"\nnum_ctx = = 3\n')
    with pytest.raises(ConfigError) as info:
        load_config(project, env=env)
    message = str(info.value)
    assert str(project / PROJECT_FILE) in message
    assert "line 2" in message and "column" in message


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        ("num_ctx", "-1", "greater than 0"),
        ("backend", "nosuch", "ollama"),
        ("temperature", "hot", "valid number"),
    ],
)
def test_invalid_values_name_the_key_and_the_layer(
    dirs: tuple[Path, Path, dict[str, str]], setting: str, value: str, expected: str
) -> None:
    project, _, env = dirs
    with pytest.raises(ConfigError) as info:
        load_config(project, env={**env, f"CA_{setting.upper()}": value})
    message = str(info.value)
    assert setting in message and "(from env)" in message and expected in message


def test_unknown_key_in_a_file_is_an_error(dirs: tuple[Path, Path, dict[str, str]]) -> None:
    project, _, env = dirs
    (project / PROJECT_FILE).write_text("implementor_model = 'typo'\n")
    with pytest.raises(ConfigError, match="unknown setting 'implementor_model'"):
        load_config(project, env=env)


def test_generated_files_parse_back_to_the_defaults(
    dirs: tuple[Path, Path, dict[str, str]],
) -> None:
    project, home, env = dirs
    assert write_config_file(project / PROJECT_FILE, "project")
    assert write_config_file(home / "config.toml", "global")
    text = (project / PROJECT_FILE).read_text()
    assert text.startswith("# code-assistant project configuration.")
    assert "openai_api_key" not in text  # machine-only keys are not offered in a project file
    loaded = load_config(project, env=env)
    assert loaded.warnings == []
    assert loaded.config == Config()


def test_existing_config_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / PROJECT_FILE
    path.write_text('num_ctx = 1234\n')
    assert not write_config_file(path, "project")
    assert path.read_text() == 'num_ctx = 1234\n'


def test_project_root_is_found_upwards(tmp_path: Path) -> None:
    (tmp_path / PROJECT_FILE).write_text("")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert find_project_root(nested) == tmp_path.resolve()


def test_secrets_are_hidden_in_effective_values(
    dirs: tuple[Path, Path, dict[str, str]],
) -> None:
    project, _, env = dirs
    loaded = load_config(project, env={**env, "CA_OPENAI_API_KEY": "sk-abcdefabcdefabcdef"})
    rows = {key: (value, source) for key, value, source in effective_values(loaded)}
    assert rows["openai_api_key"] == ("***", "env")
    assert rows["num_ctx"] == (8192, "default")
    assert "project" in render_config_file("project")


def test_a_project_cannot_lift_the_ssrf_guard(dirs: tuple[Path, Path, dict[str, str]]) -> None:
    project, home, env = dirs
    (project / PROJECT_FILE).write_text("web_allow_private = true\n")
    loaded = load_config(project, env=env)
    assert loaded.config.web_allow_private is False
    assert "web_allow_private" in loaded.warnings[0]
    (home / "config.toml").write_text("web_allow_private = true\n")
    assert load_config(project, env=env).config.web_allow_private is True
