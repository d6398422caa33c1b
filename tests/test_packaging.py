"""The distribution: the import name is `stancemap`, every package folder ships, and a wheel
installed outside the repository runs the whole pipeline with the stance model it carries."""

import json
import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import REPO


def test_every_folder_of_pipeline_is_a_package_of_stancemap():
    setup = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert setup["package-dir"] == {"stancemap": "pipeline"}
    folders = sorted(
        ".".join(["stancemap", *p.parent.relative_to(REPO / "pipeline").parts])
        for p in (REPO / "pipeline").rglob("__init__.py")
    )
    assert sorted(setup["packages"]) == folders
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts == {"stancemap": "stancemap.cli:main"}


def test_python_m_stancemap_is_the_command(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "stancemap", "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Usage: python -m stancemap" in done.stdout and "evaluate" in done.stdout


@pytest.mark.slow
def test_a_wheel_installed_in_a_fresh_virtualenv_runs_the_pipeline_with_a_proposition(tmp_path):
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(REPO)],
        capture_output=True, text=True, timeout=600,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("stancemap-*.whl")
    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=120)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )
    # the dependencies (torch, spaCy, ...) from this environment's site-packages, as a plain path:
    # its .pth files are not run, so the editable install of the checkout stays out of reach
    (site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        capture_output=True, text=True, timeout=600,
    )
    assert install.returncode == 0, install.stderr
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = subprocess.run(
        [python, "-c", "import stancemap, stancemap.stance.backends as b; print(stancemap.__file__); "
         "print(b.adapter_path('bundled'))"],
        cwd=work, capture_output=True, text=True, timeout=120,
    )
    assert where.returncode == 0, where.stderr
    package, model = where.stdout.split()
    assert Path(package).is_relative_to(site) and Path(model).is_relative_to(site)
    assert (Path(model) / "stance.safetensors").stat().st_size > 10_000_000
    proposition = "Distilling a competitor's model through its public API violates the Code of Conduct"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "STANCEMAP_CACHE_DIR": str(tmp_path / "c")}
    ran = subprocess.run(
        [env_dir / "bin" / "stancemap", "--quiet", "run", str(REPO / "data" / "raw" / "standards-motion.jsonl"),
         "--workdir", str(work), "--set", f"stance.propositions={json.dumps([proposition])}"],
        cwd=work, capture_output=True, text=True, timeout=900, env=env,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.strip().endswith("stance_map.html")
    stances = pl.read_parquet(work / "data" / "processed" / "stances.parquet")
    claims = pl.read_parquet(work / "data" / "interim" / "claims.parquet")
    assert stances.height == claims.height > 50  # every claim read against the one proposition
    assert stances["proposition"].unique().to_list() == [0]
    assert set(stances["stance"].unique().to_list()) <= {"pro", "con", "neither"}
    assert (work / "reports" / "stance_map.html").stat().st_size > 100_000
