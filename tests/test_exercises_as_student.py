"""Los cuadernos de ejercicios hechos como los hace un estudiante en JupyterLab, con un kernel de verdad.

Por cuaderno, en un solo kernel: la preparación y, sin respuestas, cada comprobación dice «falta tu solución»; *Run
All* del cuaderno sin resolver (los errores no paran); después, ejercicio a ejercicio, sus comprobaciones siguen
diciendo «falta tu solución» (en una línea, sin traza: ``%xmode Minimal``), se escribe la respuesta de ``ejercicios/soluciones/`` en su celda, se ejecuta **solo**
esa celda y sus comprobaciones, y pasan con una línea ✅ cada una, sin repetir nada de arriba.

Y las respuestas alternativas de los ejercicios con corrección delicada (4.1, 5.1, 5.2, 7.1): las correctas pasan
todas las comprobaciones (también las ocultas) y cada error típico recibe el mensaje de *su* fallo (también una
respuesta en serie que pone a mano los contadores del filtro espía del 5.1: la comprobación no los lee de ahí).
"""

from __future__ import annotations

import queue
import re

import nbformat
import pytest
from jupyter_client.manager import KernelManager

from lab.course import release
from lab.course.rebuild import ANSWER, CHECK, HIDDEN, INSTRUCTOR, exercises_of, fill_answers, source_role
from lab.course.release import exercise_of, is_check
from lab.course.runner import kernel_env

SOURCES = sorted(release.SOURCE_DIR.glob("*.ipynb"))
TIMEOUT = 60  # por celda


class StudentKernel:
    """Un kernel de Jupyter como el de JupyterLab: ejecuta código y devuelve su salida y su error (si lo hay)."""

    def __init__(self, workdir):
        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(cwd=str(release.STUDENT_DIR), env=kernel_env(workdir),
                                  extra_arguments=["--IPKernelApp.log_level=ERROR"])
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=TIMEOUT)

    def close(self):
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)

    def run(self, code: str) -> tuple[str, str | None]:
        """Ejecuta ``code``; devuelve lo que escribió en stdout y ``"Nombre: mensaje"`` de su error (o ``None``).

        Las líneas que JupyterLab mostraría de ese error (su traza) quedan en ``self.shown``.
        """
        out: dict = {"stdout": "", "error": None}
        self.shown: list[str] = []

        def hook(msg):
            content = msg["content"]
            if msg["msg_type"] == "stream" and content["name"] == "stdout":
                out["stdout"] += content["text"]
            elif msg["msg_type"] == "error":
                out["error"] = f"{content['ename']}: {content['evalue']}"
                self.shown = [line for line in "\n".join(content["traceback"]).splitlines() if line.strip()]

        try:
            self.client.execute_interactive(code, timeout=TIMEOUT, output_hook=hook, stop_on_error=False)
        except (TimeoutError, queue.Empty):
            pytest.fail(f"Más de {TIMEOUT} s ejecutando:\n{code[:300]}")
        return out["stdout"], out["error"]


@pytest.fixture
def kernel(tmp_path):
    student_kernel = StudentKernel(tmp_path)
    yield student_kernel
    student_kernel.close()


def missing_answer(error: str | None, exercise: str) -> bool:
    return bool(error) and error.startswith(f"NotImplementedError: Ejercicio {exercise}: falta tu solución")


@pytest.mark.parametrize("source_path", SOURCES, ids=lambda p: p.stem)
def test_a_student_runs_all_then_answers_each_exercise_running_only_its_cells(source_path, kernel):
    source = nbformat.read(source_path, as_version=4)
    student = release.make_student(source)
    solved = fill_answers(student, source)
    cells = student.cells
    first = next(i for i, c in enumerate(cells) if exercise_of(c))
    checks = {e.id: [i for i, c in enumerate(cells) if is_check(c) and exercise_of(c) == e.id]
              for e in exercises_of(source)}

    for i in range(first):  # la preparación, y nada más: ninguna respuesta se ha ejecutado
        if cells[i].cell_type == "code":
            assert kernel.run(cells[i].source)[1] is None, f"la celda {i} de la preparación falla"
    for exercise, indices in checks.items():
        for i in indices:
            error = kernel.run(cells[i].source)[1]
            assert missing_answer(error, exercise), f"{exercise}, celda {i} sin ejecutar la respuesta: {error}"

    for cell in cells:  # Run All, sin resolver: los errores no paran
        if cell.cell_type == "code":
            kernel.run(cell.source)

    for exercise, indices in checks.items():
        for i in indices:
            error = kernel.run(cells[i].source)[1]
            assert missing_answer(error, exercise), f"{exercise}, celda {i} sin resolver: {error}"
            assert len(kernel.shown) == 1, f"{exercise}, celda {i} sin resolver: una traza de {len(kernel.shown)} líneas"
        answers = [i for i, c in enumerate(cells) if exercise_of(c) == exercise and c.cell_type == "code"
                   and solved.cells[i].source != c.source]
        assert answers, f"{exercise} no tiene celda de respuesta"
        for i in answers:
            assert kernel.run(solved.cells[i].source)[1] is None, f"{exercise}: la respuesta (celda {i}) falla"
        for i in indices:
            stdout, error = kernel.run(cells[i].source)
            assert error is None, f"{exercise}, celda {i}: tras ejecutar solo la respuesta falla con {error}"
            passed = [line for line in stdout.splitlines() if line.startswith("✅")]
            assert len(passed) == 1 and re.fullmatch(rf"✅ Comprobación {re.escape(exercise)}( [a-z])?: correcta",
                                                     passed[0]), f"{exercise}, celda {i}: {stdout!r}"


@pytest.mark.parametrize("source_path", SOURCES, ids=lambda p: p.stem)
def test_everything_the_checks_need_runs_before_the_first_check(source_path):
    """En JupyterLab, *Run All* se para en la primera comprobación que falla: nada de lo que está debajo se ejecuta.

    Así que, aparte de las respuestas, ninguna celda de código del profesorado va después de la primera
    comprobación; lo que necesiten las comprobaciones va en la preparación o en la propia comprobación.
    """
    cells = nbformat.read(source_path, as_version=4).cells
    first = next(i for i, c in enumerate(cells) if source_role(c) in (CHECK, HIDDEN))
    late = [i for i, c in enumerate(cells[first:], first) if c.cell_type == "code" and source_role(c) == INSTRUCTOR]
    assert not late, f"{source_path.name}: celdas de código del profesorado tras la primera comprobación: {late}"


# Respuestas alternativas: (ejercicio, código de la celda de respuesta, None si es correcta o un texto que debe estar
# en el primer error de sus comprobaciones, visibles y ocultas, en el orden de la fuente).
COUNT_LEVELS = '''
from collections import Counter, defaultdict

LOG_LINE = re.compile(r"^\\S+ \\S+ - \\[(?P<worker>[^\\]]+)\\] - (?P<level>[A-Z]+) - (?P<message>.*)$")


def count_levels(lines):
    """Número de líneas de cada nivel."""
{levels}


def completed_per_worker(lines):
    """Tareas completadas por worker."""
{completed}
'''
COUNTER = '''    return Counter(m["level"] for line in lines if (m := LOG_LINE.match(line)))'''
DEFAULTDICT = '''    counts = defaultdict(int)
    for line in lines:
        if m := LOG_LINE.match(line):
            counts[m["level"]] += 1
    return counts'''
PLAIN_DICT = '''    counts = {}
    for line in lines:
        m = LOG_LINE.match(line)
        if m:
            counts[m["level"]] = counts.get(m["level"], 0) + 1
    return counts'''
COMPLETED_COUNTER = '''    return Counter(m["worker"] for line in lines
                   if (m := LOG_LINE.match(line)) and m["message"].startswith("✅ Tarea completada"))'''
EVERY_LINE = '''    return Counter(line.split(" - ")[2] if " - " in line else "?" for line in lines)'''
MOST_COMMON = '''    return Counter(m["level"] for line in lines if (m := LOG_LINE.match(line))).most_common()'''


def log_answer(levels: str, completed: str = COMPLETED_COUNTER) -> str:
    return COUNT_LEVELS.format(levels=levels, completed=completed)


RUN_IN_THREADS = '''
def run_in_threads(pipeline, queue, n_workers=3):
    """Procesa queue con n_workers SimpleWorker, cada uno en su hilo."""
    workers = [SimpleWorker(f"worker-{{i}}", pipeline, queue) for i in range(n_workers)]
{body}
    return workers
'''
THREADS = {
    "two-loops": '''    threads = [threading.Thread(target=w.start) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()''',
    "daemon-comprehensions": '''    threads = [threading.Thread(target=w.start, daemon=True, name=w.worker_id) for w in workers]
    [t.start() for t in threads]
    [t.join() for t in threads]''',
    "no-join": '''    for w in workers:
        threading.Thread(target=w.start).start()''',
    "join-in-start-loop": '''    for w in workers:
        t = threading.Thread(target=w.start)
        t.start()
        t.join()''',
    "shared-lock": '''    lock = threading.Lock()

    def one(worker):
        with lock:
            worker.start()

    threads = [threading.Thread(target=one, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()''',
    "forged-counters": '''    for w in workers:  # en serie, y después pone a mano los contadores del filtro que recibe
        t = threading.Thread(target=w.start)
        t.start()
        t.join()
    pipeline.peak, pipeline.threads, pipeline.idle = n_workers, set(range(n_workers)), 0''',
    "called-target": '''    threads = [threading.Thread(target=w.start()) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()''',
}


def threads_answer(name: str) -> str:
    return RUN_IN_THREADS.format(body=THREADS[name])


SCALING = '''
import os


def speedup(t_serial, t_parallel):
    """Cuántas veces más rápido."""
    return t_serial / t_parallel


def efficiency(speedup, workers):
    """Speedup por worker."""
    return {efficiency}


def scaling_table(times):
    """Filas con base en 1 worker."""
    if 1 not in times:
        raise ValueError("falta la medida con 1 worker")
    return [{{"workers": n, "time": t, "speedup": speedup(times[1], t), "efficiency": efficiency(speedup(times[1], t), n)}}
            for n, t in sorted(times.items())]
'''

RETRYING = '''
class RetryingWorker(SimpleWorker):
    """SimpleWorker que reintenta."""

    max_retries = 3

    def process_task(self, task):
{body}
'''
RETRIES = {
    "while-loop": '''        attempt = 0
        while True:
            try:
                return self._do_process(task)
            except PERMANENT_ERRORS:
                raise
            except Exception:
                if attempt >= self.max_retries:
                    raise
                self.sleep(2 ** attempt)
                attempt += 1''',
    "guide-plus-one": '''        for attempt in range(self.max_retries + 1):
            try:
                return self._do_process(task)
            except Exception as exc:
                if isinstance(exc, PERMANENT_ERRORS) or attempt == self.max_retries:
                    raise
                self.sleep(2 ** attempt)''',
    "guide-as-is": '''        for attempt in range(self.max_retries):
            try:
                return self._do_process(task)
            except PERMANENT_ERRORS:
                raise
            except Exception:
                if attempt == self.max_retries - 1:
                    raise
                self.sleep(2 ** attempt)''',
    "retries-permanent-errors": '''        for attempt in range(self.max_retries + 1):
            try:
                return self._do_process(task)
            except Exception:
                if attempt == self.max_retries:
                    raise
                self.sleep(2 ** attempt)''',
    "waits-after-the-last": '''        for attempt in range(self.max_retries + 1):
            try:
                return self._do_process(task)
            except PERMANENT_ERRORS:
                raise
            except Exception:
                self.sleep(2 ** attempt)
                if attempt == self.max_retries:
                    raise''',
}


def retry_answer(name: str) -> str:
    return RETRYING.format(body=RETRIES[name])


ALTERNATIVES = {
    "04-Logs-y-panel-de-salud": [
        ("4.1", log_answer(COUNTER), None),
        ("4.1", log_answer(DEFAULTDICT), None),
        ("4.1", log_answer(PLAIN_DICT), None),
        ("4.1", log_answer(EVERY_LINE), "count_levels(LINEAS) debería ser {'INFO': 6, 'ERROR': 1, 'WARNING': 1}"),
        ("4.1", log_answer(MOST_COMMON), "count_levels(LINEAS) debería ser {'INFO': 6, 'ERROR': 1, 'WARNING': 1}"),
    ],
    "05-Varios-workers-y-speedup": [
        ("5.1", threads_answer("two-loops"), None),
        ("5.1", threads_answer("daemon-comprehensions"), None),
        ("5.1", threads_answer("no-join"), "volvió con"),
        ("5.1", threads_answer("join-in-start-loop"), "¿Haces join() en el mismo bucle que start()?"),
        ("5.1", threads_answer("shared-lock"), "esperando su turno"),
        ("5.1", threads_answer("called-target"), "en el hilo principal"),
        ("5.1", threads_answer("forged-counters"), "¿Haces join() en el mismo bucle que start()?"),
        ("5.2", SCALING.format(efficiency="speedup / workers"), None),
        ("5.2", SCALING.format(efficiency="speedup / min(workers, os.cpu_count() or 1)"), "(S/p)"),
    ],
    "07-Reintentos-y-tareas-perdidas": [
        ("7.1", retry_answer("while-loop"), None),
        ("7.1", retry_answer("guide-plus-one"), None),
        ("7.1", retry_answer("guide-as-is"), "con max_retries = 3 son 4: el primer intento y 3 REintentos"),
        ("7.1", retry_answer("retries-permanent-errors"), "no se arregla esperando"),
        ("7.1", retry_answer("waits-after-the-last"), "no tras el último intento"),
    ],
}
WRONG_MESSAGES = {  # lo que un fallo concreto NO debe recibir: el diagnóstico de otro fallo
    "no-join": "join() en el mismo bucle",
    "shared-lock": "join() en el mismo bucle", "join-in-start-loop": "cerrojo",
}


@pytest.mark.parametrize("stem", sorted(ALTERNATIVES))
def test_alternative_answers_get_the_verdict_and_message_of_their_own_fault(stem, kernel):
    source = nbformat.read(release.SOURCE_DIR / f"{stem}.ipynb", as_version=4)
    cells = source.cells
    first = next(i for i, c in enumerate(cells) if exercise_of(c))
    for cell in cells[:first]:
        if cell.cell_type == "code":
            assert kernel.run(cell.source)[1] is None
    problems = []
    for exercise, answer, expected in ALTERNATIVES[stem]:
        assert [c for c in cells if exercise_of(c) == exercise and source_role(c) == ANSWER], exercise
        assert kernel.run(answer)[1] is None, f"{exercise}: la respuesta alternativa no se ejecuta:\n{answer}"
        error = None
        for cell in cells:
            if exercise_of(cell) == exercise and source_role(cell) in (CHECK, HIDDEN):
                error = kernel.run(cell.source)[1]
                if error:
                    break
        name = next((n for n, body in {**THREADS, **RETRIES}.items() if body in answer), answer.strip()[:60])
        if expected is None and error is not None:
            problems.append(f"{exercise} [{name}] es correcta y falla: {error}")
        elif expected is not None and (error is None or expected not in error):
            problems.append(f"{exercise} [{name}] debería fallar con «{expected}» y dio: {error}")
        elif error and WRONG_MESSAGES.get(name, "\0") in error:
            problems.append(f"{exercise} [{name}] recibe el diagnóstico de otro fallo: {error}")
    assert not problems, "\n".join(problems)
