"""El aislamiento del corrector (``lab.course.sandbox``): funciona como root y sin root, y sin él se dice.

En Linux con bubblewrap, el kernel de una entrega no ve más que el sistema, el Python y ``lab/``
(de solo lectura), no tiene red, no ve los procesos del corrector y muere con todo lo que lance.
Sin sandbox (aquí se simula con un ``bwrap`` que falla como en un contenedor sin espacios de nombres
de usuario) el corrector lo dice en una línea, corrige igual y ``notas.json`` lo guarda.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from lab.course import sandbox
from lab.course.kernel import Kernel
from lab.course.release import ROOT, make_student
from tests.test_grade_tampering_isolation import _source, project_copy


def isolation_or_skip() -> sandbox.Isolation:
    found = sandbox.detect()
    if found.tool is None:
        if os.environ.get("LAB_REQUIRE_SANDBOX"):
            pytest.fail(f"LAB_REQUIRE_SANDBOX=1 y no hay aislamiento: {found.reason}")
        pytest.skip(f"sin aislamiento aquí: {found.reason}")
    return found


INSIDE = '''import os, socket
from pathlib import Path
seen = {
    "pid": os.getpid(),
    "procesos": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "lab escribible": os.access("%(root)s/lab/course", os.W_OK),
    "soluciones": Path("%(root)s/ejercicios").exists(),
    "git": Path("%(root)s/.git").exists(),
    "home": Path(os.path.expanduser("~")).resolve() == Path("/tmp"),
    "tmp escribible": os.access("/tmp", os.W_OK),
    "entorno del corrector": "LAB_CLAVE_DE_PRUEBA" in os.environ,
}
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2)
    seen["red"] = True
except OSError:
    seen["red"] = False
print(seen)
assert seen["procesos"][0] == 1 and len(seen["procesos"]) <= 4, seen
assert not seen["lab escribible"] and not seen["soluciones"] and not seen["git"] and not seen["red"], seen
assert seen["home"] and seen["tmp escribible"] and not seen["entorno del corrector"], seen
''' % {"root": ROOT}


def test_inside_the_sandbox_a_kernel_sees_only_what_it_needs(monkeypatch):
    isolation = isolation_or_skip()
    monkeypatch.setenv("LAB_CLAVE_DE_PRUEBA", "no-la-veas")
    with tempfile.TemporaryDirectory() as workdir, Kernel(nbformat.v4.new_notebook(), Path(workdir), 30,
                                                          isolation) as kernel:
        assert kernel.install_guard(0) == (True, "")
        assert kernel.trusted(0, INSIDE, "profesorado", 30) == ("ok", "")
        assert kernel.sandboxed.pid is not None
    stat = Path(f"/proc/{kernel.sandboxed.pid}/stat")
    state = stat.read_text().rsplit(")", 1)[1].split()[0] if stat.exists() else "no existe"
    assert state in ("no existe", "Z"), f"el sandbox sigue vivo al cerrar el kernel (estado {state})"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="solo como root: se prueba otro usuario")
def test_the_same_sandbox_works_without_root():
    """Como root (CI) el corrector usa bwrap con --cap-drop ALL; aquí, los mismos espacios de nombres como nobody."""
    isolation = isolation_or_skip()
    python = "/usr/bin/python3"
    if not os.path.exists(python):
        pytest.skip("falta /usr/bin/python3 para probar como otro usuario")
    system = [a for name in ("/usr", "/bin", "/lib", "/lib64", "/sbin") if os.path.exists(name)
              for a in (["--symlink", os.readlink(name), name] if os.path.islink(name) else ["--ro-bind", name, name])]
    cmd = sandbox.namespaces(isolation) + ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"] + system + [
        "--", python, "-c", "import os; assert os.getuid() == 65534 and os.getpid() == 2; print('ok')"]
    done = subprocess.run(cmd, user=65534, group=65534, extra_groups=[], cwd="/", capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr


def test_without_a_sandbox_the_grader_says_so_in_one_line_and_the_report_records_it(tmp_path):
    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = --help ] && exit 0; done\n"
                    "echo 'bwrap: No permissions to create a new namespace' >&2\nexit 1\n", encoding="utf-8")
    fake.chmod(0o755)
    copy = project_copy(tmp_path / "proyecto")
    entregas, out = tmp_path / "ENTREGAS", tmp_path / "notas"
    (entregas / "ana").mkdir(parents=True)
    nb = make_student(_source())
    nb.cells[1].source = "def doble(x):\n    return 2 * x\n"
    nbformat.write(nb, entregas / "ana" / "01-Doble.ipynb")
    env = {**os.environ, "PYTHONPATH": str(copy), "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run([sys.executable, "-m", "lab", "grade", str(entregas), "--source",
                           str(copy / "ejercicios" / "soluciones"), "--out", str(out), "--parallel", "1"],
                          cwd=copy, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [ln for ln in done.stdout.splitlines() if "aislamiento" in ln]
    assert len(lines) == 1 and lines[0].startswith("⚠ Sin aislamiento: bubblewrap no puede crear el sandbox"), done.stdout
    assert "No permissions to create a new namespace" in lines[0]
    report = json.loads((out / "notas.json").read_text(encoding="utf-8"))
    assert report["sandbox"] is False and report["isolation"] == lines[0]
    assert report["notebooks"][0]["exercises"][0]["status"] == "aprobado"
