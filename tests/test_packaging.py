"""Project hygiene: the two dependency lists agree, CI runs the README's command, no framework."""
import re
import tomllib

from mnist_scratch import paths

ROOT = paths.project_root()


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_and_pyproject_name_the_same_runtime_dependencies():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    runtime = {_name(r) for r in pyproject["project"]["dependencies"]}
    conda = set()
    in_dependencies = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_dependencies = True
        elif in_dependencies and re.match(r"^  - [A-Za-z]", line):
            conda.add(_name(line[4:]))
    assert "python" in conda and "pip" in conda
    assert conda - {"python", "pip", "pip:"} == runtime
    assert "- -e ." in (ROOT / "environment.yml").read_text()
    assert re.search(r"python=3\.11", (ROOT / "environment.yml").read_text())


def test_no_deep_learning_framework_in_the_package():
    forbidden = re.compile(r"^\s*(import|from)\s+(torch|tensorflow|jax|keras|sklearn|mlxtend)\b", re.M)
    for module in (ROOT / "mnist_scratch").glob("*.py"):
        assert not forbidden.search(module.read_text()), module.name
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert not {"torch", "tensorflow", "jax", "keras"} & {_name(r) for r in pyproject["project"]["dependencies"]}


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^(bash run\.sh \w+)", readme.split("```bash", 1)[1].split("```", 1)[0], re.M)
    assert commands == ["bash run.sh train", "bash run.sh test"]
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
                if line.strip() and not line.startswith("#") and not line.startswith(("set ", "cd "))]
    assert ci_lines == ["bash run.sh test", "bash .ci/fresh_clone.sh"]


def test_ci_proves_a_fresh_clone_named_mnist_scratch_with_nothing_beside_it():
    script = (ROOT / ".ci" / "fresh_clone.sh").read_text()
    assert 'git clone --quiet "$source" "$work/mnist_scratch"' in script
    assert "-u MNIST_SCRATCH_DATA" in script  # and ../shared is not beside the temporary folder
    for command in ("bash run.sh train", "bash run.sh test", "mnist_scratch/.venv/bin/python -m mnist_scratch --help"):
        assert f"as_user {command}" in script


def test_browser_dependencies_install_without_recommends():
    run_sh = (ROOT / "run.sh").read_text()
    assert "apt-get install -y -qq --no-install-recommends chromium" in run_sh


def test_no_data_or_checkpoints_tracked():
    import subprocess

    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert not [f for f in tracked if re.search(r"(ubyte|\.npz$|\.sqlite3$|\.pkl$)", f)]
