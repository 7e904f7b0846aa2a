import json
import os
import subprocess
import sys
import threading

import pytest

import teem.config
from teem.core import config as core_config


@pytest.fixture(autouse=True)
def restore_config(monkeypatch, tmp_path):
    """Isolate from the user's env and files (conftest.py restores the settings afterwards)."""
    for name in list(os.environ):
        if name.startswith("TEEM_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def test_public_module_reexports_core():
    assert teem.config.set is core_config.set
    assert teem.config.get is core_config.get
    assert teem.config.config is core_config.config


def test_defaults_are_present():
    get = teem.config.get
    assert get("scheduler") is None
    assert get("num_workers") is None
    assert get("array.chunk-size") == "128MiB"
    assert get("tokenize.ensure-deterministic") is False
    assert get("temporary-directory") is None
    assert get("optimization.fuse.active") is True


def test_global_set_stays_in_effect():
    teem.config.set(scheduler="processes", num_workers=4)
    assert teem.config.get("scheduler", None) == "processes"
    assert teem.config.get("num_workers", default=None) == 4


def test_context_manager_restores_previous_value():
    teem.config.set(scheduler="processes")
    with teem.config.set(scheduler="threads") as cfg:
        assert teem.config.get("scheduler") == "threads"
        assert cfg is teem.config.config
    assert teem.config.get("scheduler") == "processes"


def test_context_manager_removes_new_keys_and_new_parents():
    with teem.config.set({"brand.new.deep": 1, "array.new-key": 2}):
        assert teem.config.get("brand.new.deep") == 1
        assert teem.config.get("array.new-key") == 2
    assert "brand" not in teem.config.config
    assert teem.config.config["array"] == {"chunk-size": "128MiB"}


def test_nested_blocks_restore_in_order():
    with teem.config.set(scheduler="threads", a=1):
        with teem.config.set(scheduler="sync", a=2, b=3):
            assert teem.config.get("scheduler") == "sync"
            assert (teem.config.get("a"), teem.config.get("b")) == (2, 3)
        assert teem.config.get("scheduler") == "threads"
        assert teem.config.get("a") == 1
        assert teem.config.get("b", None) is None
    assert teem.config.get("scheduler") is None
    assert "a" not in teem.config.config


def test_context_manager_restores_after_exception():
    with pytest.raises(RuntimeError):
        with teem.config.set(scheduler="threads"):
            raise RuntimeError
    assert teem.config.get("scheduler") is None


def test_dotted_keys_get_and_set():
    teem.config.set({"distributed.worker.memory.target": 0.6})
    assert teem.config.get("distributed.worker.memory.target") == 0.6
    assert teem.config.get("distributed.worker") == {"memory": {"target": 0.6}}
    assert teem.config.config["distributed"]["worker"]["memory"]["target"] == 0.6


def test_double_underscore_kwargs_mean_dots():
    with teem.config.set(distributed__worker__memory__target=0.7, array__chunk_size="1MiB"):
        assert teem.config.get("distributed.worker.memory.target") == 0.7
        assert teem.config.get("array.chunk-size") == "1MiB"
        assert teem.config.config["array"] == {"chunk-size": "1MiB"}  # existing spelling kept
    assert teem.config.get("array.chunk-size") == "128MiB"


def test_dict_and_kwargs_together():
    with teem.config.set({"scheduler": "threads"}, num_workers=2):
        assert teem.config.get("scheduler") == "threads"
        assert teem.config.get("num_workers") == 2


def test_hyphens_and_underscores_are_equivalent():
    teem.config.set({"num-workers": 4})
    assert teem.config.get("num_workers") == 4
    assert teem.config.get("num-workers") == 4
    assert "num-workers" not in teem.config.config  # existing key's spelling is reused
    teem.config.set(new_thing=1)
    assert teem.config.get("new-thing") == 1
    assert teem.config.get("tokenize.ensure_deterministic") is False


def test_setting_below_a_non_dict_value_raises():
    with pytest.raises(TypeError, match="'scheduler' holds None"):
        teem.config.set({"scheduler.sub": 1})


def test_missing_key_raises_with_close_matches():
    with pytest.raises(KeyError) as info:
        teem.config.get("schedular")
    message = info.value.args[0]
    assert "'schedular'" in message
    assert "'scheduler'" in message
    with pytest.raises(KeyError) as info:
        teem.config.get("array.chunksize")
    assert "'array.chunk-size'" in info.value.args[0]


def test_missing_key_without_close_matches_lists_top_level_keys():
    with pytest.raises(KeyError) as info:
        teem.config.get("zzzzzzzzzzzz")
    assert "'zzzzzzzzzzzz'" in info.value.args[0]
    assert "'scheduler'" in info.value.args[0]


def test_missing_key_with_default():
    assert teem.config.get("no.such.key", default=None) is None
    assert teem.config.get("no.such.key", 5) == 5
    assert teem.config.get("scheduler.deeper", default="x") == "x"  # scheduler is not a dict


def test_override_with_wins():
    assert teem.config.get("scheduler", override_with="sync") == "sync"
    assert teem.config.get("missing", override_with=3) == 3


def test_update_defaults_adds_but_never_overrides_user_values():
    teem.config.set(scheduler="threads")
    teem.config.update_defaults({
        "scheduler": "sync",
        "array": {"chunk-size": "64MiB", "slicing": {"split": True}},
        "bag": {"partition-size": 10},
    })
    assert teem.config.get("scheduler") == "threads"  # user value kept
    assert teem.config.get("array.chunk-size") == "64MiB"  # still at old default: updated
    assert teem.config.get("array.slicing.split") is True
    assert teem.config.get("bag.partition-size") == 10
    assert teem.config.defaults["bag"] == {"partition-size": 10}


def test_update_defaults_survives_refresh():
    teem.config.update_defaults({"bag": {"partition-size": 10}})
    teem.config.set(scheduler="threads")
    teem.config.refresh()
    assert teem.config.get("bag.partition-size") == 10
    assert teem.config.get("scheduler") is None  # refresh discards set() values


def test_update_priorities():
    old = {"a": 1, "b": {"c": 2, "d-e": 3}}
    teem.config.update(old, {"a": 10, "b": {"c": 20, "d_e": 30, "f": 4}}, priority="old")
    assert old == {"a": 1, "b": {"c": 2, "d-e": 3, "f": 4}}
    teem.config.update(old, {"a": 10, "b": {"c": 20, "d_e": 30}}, priority="new")
    assert old == {"a": 10, "b": {"c": 20, "d-e": 30, "f": 4}}
    with pytest.raises(ValueError, match="priority"):
        teem.config.update(old, {}, priority="newest")


def test_merge_does_not_modify_inputs():
    a, b = {"x": {"y": 1}}, {"x": {"z": 2}}
    assert teem.config.merge(a, b) == {"x": {"y": 1, "z": 2}}
    assert a == {"x": {"y": 1}}


def test_environment_variables_at_import(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEEM_")}
    env.update(TEEM_SCHEDULER="threads", TEEM_NUM_WORKERS="4", TEEM_X__Y="[1, 2]",
               TEEM_DISTRIBUTED__WORKER__MEMORY__TARGET="0.6", TEEM_FLAG="true",
               TEEM_ARRAY__CHUNK_SIZE="64MiB", HOME=str(tmp_path))
    code = ("import json, teem.config as c; print(json.dumps([c.get('scheduler'), "
            "c.get('num_workers'), c.get('x.y'), c.get('distributed.worker.memory.target'), "
            "c.get('flag'), c.get('array.chunk-size'), c.config['array']]))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout
    assert json.loads(out) == ["threads", 4, [1, 2], 0.6, True, "64MiB",
                               {"chunk-size": "64MiB"}]


def test_environment_variables_on_refresh_beat_defaults_but_not_set(monkeypatch):
    monkeypatch.setenv("TEEM_SCHEDULER", "processes")
    monkeypatch.setenv("TEEM_NUM_WORKERS", "None")
    teem.config.refresh()
    assert teem.config.get("scheduler") == "processes"
    assert teem.config.get("num_workers") is None
    with teem.config.set(scheduler="threads"):
        assert teem.config.get("scheduler") == "threads"
    assert teem.config.get("scheduler") == "processes"


def test_yaml_files_from_teem_config_dir(monkeypatch, tmp_path):
    pytest.importorskip("yaml")
    confdir = tmp_path / "conf"
    confdir.mkdir()
    (confdir / "a.yaml").write_text(
        "scheduler: processes\nnum-workers: 3\ndistributed:\n  worker:\n    memory:\n"
        "      target: 0.5\n")
    (confdir / "b.yml").write_text("array:\n  chunk-size: 32MiB\n")
    (confdir / "empty.yaml").write_text("")
    (confdir / "ignored.txt").write_text("scheduler: sync\n")
    monkeypatch.setenv("TEEM_CONFIG", str(confdir))
    monkeypatch.setenv("TEEM_SCHEDULER", "threads")  # environment beats YAML
    teem.config.refresh()
    assert teem.config.get("scheduler") == "threads"
    assert teem.config.get("num_workers") == 3
    assert teem.config.get("distributed.worker.memory.target") == 0.5
    assert teem.config.get("array.chunk-size") == "32MiB"
    assert teem.config.get("optimization.fuse.active") is True  # untouched default
    assert "config" not in teem.config.config  # TEEM_CONFIG is not a setting


def test_yaml_files_from_home_config_dir(monkeypatch, tmp_path):
    pytest.importorskip("yaml")
    home_conf = tmp_path / "home" / ".config" / "teem"
    home_conf.mkdir(parents=True)
    (home_conf / "teem.yaml").write_text("scheduler: sync\n")
    teem.config.refresh()
    assert teem.config.get("scheduler") == "sync"


def test_bad_yaml_file_names_the_file(monkeypatch, tmp_path):
    pytest.importorskip("yaml")
    (tmp_path / "bad.yaml").write_text("- just\n- a list\n")
    monkeypatch.setenv("TEEM_CONFIG", str(tmp_path))
    with pytest.raises(ValueError, match="bad.yaml"):
        teem.config.refresh()


def test_yaml_skipped_silently_without_pyyaml(monkeypatch, tmp_path):
    (tmp_path / "a.yaml").write_text("scheduler: processes\n")
    monkeypatch.setenv("TEEM_CONFIG", str(tmp_path))
    monkeypatch.setitem(sys.modules, "yaml", None)  # makes `import yaml` fail
    teem.config.refresh()
    assert teem.config.get("scheduler") is None


def test_concurrent_context_managers_do_not_corrupt_state():
    teem.config.set({"stress": {}})
    errors = []
    barrier = threading.Barrier(8)

    def worker(i):
        barrier.wait()
        for n in range(300):
            with teem.config.set({f"stress.t{i}": n}):
                if teem.config.get(f"stress.t{i}") != n:
                    errors.append((i, n))
            teem.config.set({f"shared.k{i % 2}": n})

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert teem.config.get("stress") == {}
    assert teem.config.get("shared") == {"k0": 299, "k1": 299}
