"""Settings: defaults < TOML file < CAMG_* environment < command-line overrides, typed and checked."""

from pathlib import Path

import pytest

from camg.ops.config import Settings, SettingsError, converted, machine_timezone

TOML = """
[camg]
marts_dir = "toml/marts"
keep_runs = 3
schedule_cron = "30 1 * * *"
timezone = "Europe/Paris"
lock_timeout_seconds = 60
"""


@pytest.fixture
def toml_file(tmp_path: Path) -> Path:
    path = tmp_path / "camg.toml"
    path.write_text(TOML)
    return path


def test_defaults_without_file_or_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./camg.toml here
    settings = Settings.load(environ={})
    assert settings == Settings()
    assert settings.raw_dir == Path("data/raw")
    assert settings.marts_dir == Path("data/marts")
    assert settings.reports_dir == Path("reports")
    assert settings.schedule_cron == "0 2 * * *"  # nightly at 02:00
    assert settings.timezone == ""  # the machine's own zone


def test_toml_overrides_defaults(toml_file):
    settings = Settings.load(toml_file, environ={})
    assert settings.marts_dir == Path("toml/marts")
    assert settings.keep_runs == 3
    assert settings.schedule_cron == "30 1 * * *"
    assert settings.lock_timeout_seconds == 60.0
    assert settings.raw_dir == Path("data/raw")  # not in the file: default


def test_environment_overrides_toml_and_arguments_override_environment(toml_file):
    env = {"CAMG_MARTS_DIR": "env/marts", "CAMG_KEEP_RUNS": "9", "CAMG_RAW_DIR": "env/raw"}
    settings = Settings.load(toml_file, environ=env, raw_dir=Path("cli/raw"), reports_dir=None)
    assert settings.marts_dir == Path("env/marts")
    assert settings.keep_runs == 9  # text "9" converted to the field's int
    assert settings.raw_dir == Path("cli/raw")
    assert settings.reports_dir == Path("reports")  # a None override leaves the value alone


def test_camg_config_names_the_file_and_cwd_file_is_the_fallback(toml_file, tmp_path, monkeypatch):
    assert Settings.load(environ={"CAMG_CONFIG": str(toml_file)}).keep_runs == 3
    monkeypatch.chdir(tmp_path)  # tmp_path holds camg.toml
    assert Settings.load(environ={}).keep_runs == 3


def test_a_named_file_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        Settings.load(tmp_path / "missing.toml", environ={})


def test_unrelated_camg_variables_are_ignored():
    # CI sets CAMG_REQUIRE_BROWSER for the report tests; it is no setting of the run.
    assert Settings.load(environ={"CAMG_REQUIRE_BROWSER": "1"}, raw_dir=Path("r")).raw_dir == Path(
        "r"
    )


def test_unknown_key_in_file_is_an_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[camg]\nmart_dir = 'typo'\n")
    with pytest.raises(ValueError, match="mart_dir"):
        Settings.load(path, environ={})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CAMG_KEEP_RUNS": "0"}, "CAMG_KEEP_RUNS = '0': must be above 0"),
        ({"CAMG_KEEP_RUNS": "abc"}, "CAMG_KEEP_RUNS = 'abc': not a whole number"),
        ({"CAMG_KEEP_RUNS": "2.5"}, "CAMG_KEEP_RUNS = '2.5': not a whole number"),
        (
            {"CAMG_LOCK_TIMEOUT_SECONDS": "-1"},
            "CAMG_LOCK_TIMEOUT_SECONDS = '-1': must be 0 or more",
        ),
        ({"CAMG_LOCK_TIMEOUT_SECONDS": "soon"}, "CAMG_LOCK_TIMEOUT_SECONDS = 'soon': not a number"),
        ({"CAMG_SCHEDULE_CRON": "0 2 * *"}, "CAMG_SCHEDULE_CRON = '0 2 \\* \\*': needs 5 fields"),
        (
            {"CAMG_SCHEDULE_CRON": "61 2 * * *"},
            "minute field '61': '61' is not a value from 0 to 59",
        ),
        ({"CAMG_SCHEDULE_CRON": "0 2 * * 8"}, "day of week field '8'"),
        ({"CAMG_SCHEDULE_CRON": "0 2 * 13 *"}, "month field '13'"),
        ({"CAMG_SCHEDULE_CRON": "0 2 */0 * *"}, "step '0'"),
        ({"CAMG_SCHEDULE_CRON": "0 x * * *"}, "hour field 'x'"),
        ({"CAMG_TIMEZONE": "Mars/Olympus"}, "CAMG_TIMEZONE = 'Mars/Olympus': unknown timezone"),
        ({"CAMG_STUDY": "../etc"}, "CAMG_STUDY = '../etc': must be a batch folder name"),
        ({"CAMG_STUDY": ".hidden"}, "batch folder name"),
        ({"CAMG_PREFECT_PORT": "70000"}, "CAMG_PREFECT_PORT = '70000': must be a port"),
        ({"CAMG_LOG_LEVEL": "LOUD"}, "CAMG_LOG_LEVEL = 'LOUD': must be one of DEBUG"),
        ({"CAMG_DEPLOYMENT_NAME": "a/b"}, "CAMG_DEPLOYMENT_NAME = 'a/b'"),
        ({"CAMG_DASK_SCHEDULER": "myhost"}, "CAMG_DASK_SCHEDULER = 'myhost'"),
        ({"CAMG_FILE_WORKERS": "٣"}, "CAMG_FILE_WORKERS = '٣': not a whole number"),
    ],
)
def test_bad_values_are_refused_at_load_naming_the_setting_and_value(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.load(environ=env)


@pytest.mark.parametrize(
    "cron", ["0 2 * * *", "*/15 0-6,22 1 jan,jul 0", "30 1 * * mon-fri", "0 0 1-31/2 * 7"]
)
def test_good_cron_expressions_are_kept(cron):
    assert Settings.load(environ={"CAMG_SCHEDULE_CRON": cron}).schedule_cron == cron


def test_a_bad_toml_value_names_the_key_and_the_file(tmp_path):
    path = tmp_path / "camg.toml"
    path.write_text('[camg]\nkeep_runs = "many"\n')
    with pytest.raises(SettingsError, match=f"keep_runs in {path} = 'many': not a whole number"):
        Settings.load(path, environ={})
    path.write_text("[camg\n")
    with pytest.raises(SettingsError, match=f"camg settings file {path}"):
        Settings.load(path, environ={})


def test_a_bad_value_built_in_code_is_refused_too():
    with pytest.raises(SettingsError, match="camg setting keep_runs = 0: must be above 0"):
        Settings(keep_runs=0)


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        (bool, "false", False),  # bool("false") would be True
        (bool, "No", False),
        (bool, "1", True),
        (bool, "on", True),
        (int, "42", 42),
        (float, "2.5", 2.5),
        (Path, "~/x", Path.home() / "x"),
    ],
)
def test_converted_values(kind, text, expected):
    assert converted(kind, text) == expected


def test_converted_refuses_unclear_values():
    with pytest.raises(ValueError, match="yes/no"):
        converted(bool, "maybe")
    with pytest.raises(ValueError, match="not a number"):
        converted(int, True)  # a TOML `true` where a count belongs


def test_resolved_paths_are_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings(raw_dir=Path("in")).resolved()
    assert settings.raw_dir == tmp_path.resolve() / "in"
    assert settings.log_dir.is_absolute()
    assert settings.report_key_path() == tmp_path.resolve() / "data" / "marts" / ".report_key"


def test_schedule_timezone_is_the_setting_else_the_machines(monkeypatch):
    assert Settings(timezone="Asia/Tokyo").local_timezone() == "Asia/Tokyo"
    monkeypatch.setenv("TZ", "America/Chicago")
    assert Settings().local_timezone() == "America/Chicago"
    monkeypatch.setenv("TZ", "Not/AZone")
    assert machine_timezone() != "Not/AZone"  # falls back to /etc/localtime or UTC
