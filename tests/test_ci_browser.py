"""CI's browser step (.ci/install-browser, called by .ci/run): Debian's chromium and chromedriver for the page tests.

apt-get and sudo are stand-ins on PATH that record their calls; the browser's paths point into tmp_path.
"""

import os
import subprocess

import pytest

from tests.support.paths import ROOT

SCRIPT = ROOT / ".ci" / "install-browser"
INSTALL = "apt-get install -y --no-install-recommends chromium chromium-driver"


@pytest.fixture
def machine(tmp_path):
    """Run the step on a pretend machine: (run, calls, chromium, driver); ``fresh`` lists need an update first."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    chromium, driver = tmp_path / "usr" / "chromium", tmp_path / "usr" / "chromedriver"
    chromium.parent.mkdir()
    (bin_dir / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
    (bin_dir / "apt-get").write_text(
        "#!/bin/sh\n"
        f'echo "apt-get $*" >> "{calls}"\n'
        'if [ "$1" = update ]; then touch "$LISTS"; exit 0; fi\n'
        '[ -e "$LISTS" ] || exit 100\n'  # install fails until the package lists are there
        f'printf "#!/bin/sh\\n" > "{chromium}"; printf "#!/bin/sh\\n" > "{driver}"; chmod +x "{chromium}" "{driver}"\n'
    )
    for stub in bin_dir.iterdir():
        stub.chmod(0o755)

    def run(lists: bool):
        lists_file = tmp_path / "lists"
        if lists:
            lists_file.touch()
        env = {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "LISTS": str(lists_file),
            "SEMSEARCH_CHROMIUM": str(chromium),
            "SEMSEARCH_CHROMEDRIVER": str(driver),
        }
        done = subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return calls.read_text().splitlines() if calls.exists() else []

    return run, chromium, driver


def test_installs_the_browser_without_updating_when_the_lists_are_there(machine):
    run, chromium, driver = machine
    assert run(lists=True) == [INSTALL]
    assert os.access(chromium, os.X_OK) and os.access(driver, os.X_OK)


def test_updates_the_package_lists_only_when_the_install_fails(machine):
    run, chromium, driver = machine
    assert run(lists=False) == [INSTALL, "apt-get update", INSTALL]
    assert os.access(chromium, os.X_OK) and os.access(driver, os.X_OK)


def test_does_nothing_when_the_browser_is_there(machine):
    run, chromium, driver = machine
    for path in (chromium, driver):
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    assert run(lists=False) == []


def test_ci_installs_the_browser_and_requires_it_before_the_tests():
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    step = lines.index(".ci/install-browser")
    required = lines.index("export SEMSEARCH_REQUIRE_BROWSER=1")
    tests = next(i for i, line in enumerate(lines) if 'bash -euo pipefail -c "$test_command"' in line)
    assert step < tests and required < tests
