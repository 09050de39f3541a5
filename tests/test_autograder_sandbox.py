"""The kernel sandbox (autograder/sandbox.py) with real kernels: what a kernel can see, reach and write.

Skipped where bubblewrap cannot run (the grader then says "sandbox: none" in its summary).
"""

import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from autograder import sandbox as sb
from autograder.checkdata import RESULT_MIME
from autograder.kernel import Kernel

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def box():
    found, note = sb.detect("auto", hidden=[REPO])
    if found is None:
        pytest.skip(note)
    return found


@pytest.fixture
def start(box, tmp_path, monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")  # the grader's own environment must not leak in
    monkeypatch.setenv("SECRET_TOKEN", "s3cr3t")
    kernels = []

    def start(**files):
        scratch = Path(tempfile.mkdtemp(dir=tmp_path))
        for name, text in files.items():
            (scratch / name).write_text(text)
        kernel = Kernel(scratch, sandbox=box, runtime_dir=str(tmp_path)).start()
        kernels.append(kernel)
        return kernel

    yield start
    for kernel in kernels:
        kernel.kill()


def out(run):
    assert run.status == "ok", (run.status, run.error, run.outputs)
    return "".join(o.get("text", "") for o in run.outputs if o.get("name") == "stdout")


def test_the_kernel_runs_as_its_own_user_in_a_private_home_with_a_scrubbed_environment(box, start):
    kernel = start()
    uid, cwd, env = out(kernel.run("import os\nprint(os.getuid(), os.getcwd(), sorted(os.environ))")).split(" ", 2)
    assert cwd == sb.HOME
    assert int(uid) in sb.UIDS if box.as_root else int(uid) == 65534
    assert "NBGRADER_EXECUTION" not in env and "SECRET_TOKEN" not in env and "VIRTUAL_ENV" not in env
    assert box.protections()["separate-user"] == box.as_root


def test_the_course_and_the_machine_are_invisible(start):
    kernel = start()
    home = [str(p) for p in Path.home().iterdir() if p.name != ".pyenv"][:5] if Path.home().is_dir() else []
    probes = [str(p) for p in (REPO / "solutions", REPO / "tests", REPO / "autograder" / "grader.py",
                               Path("/etc/passwd"), Path("/etc/hostname"), Path("/var"), *map(Path, home))
              if p.exists()]  # all of them exist on this machine
    assert len(probes) >= 4
    seen = out(kernel.run(f"import os\nprint([p for p in {probes!r} if os.path.exists(p)])"))
    assert seen.strip() == "[]"
    pids = out(kernel.run("print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))"))
    assert eval(pids)[0] == 1 and len(eval(pids)) < 10  # its own processes only
    assert out(kernel.run("import coursekit, numpy\nprint(coursekit.__file__)")).startswith(sb.LIB)


def test_no_network_not_even_the_graders_loopback(start):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    try:
        run = start().run(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3)")
        assert run.status == "error" and run.error[0] in ("ConnectionRefusedError", "OSError", "TimeoutError")
    finally:
        listener.close()


def test_writable_places_are_private_and_size_limited(start, box):
    kernel = start()
    code = ("import errno\nresult = {}\n"
            "for path in ('/probe', '/opt/autograder/input/probe', '/usr/probe', 'big', '/tmp/big'):\n"
            "    try:\n"
            "        for i in range(40):  # 40 files of 16 MB (each under the file size limit)\n"
            "            with open(f'{path}-{i}', 'wb') as file:\n"
            "                file.write(b'0' * 2**24)\n"
            "        result[path] = 'ok'\n"
            "    except OSError as exc:\n"
            "        result[path] = errno.errorcode[exc.errno]\n"
            "print(result)")
    result = eval(out(kernel.run(code, timeout=60)))
    assert result["/probe"] == result["/opt/autograder/input/probe"] == result["/usr/probe"] == "EROFS"
    assert result["big"] == "ENOSPC" and result["/tmp/big"] == "ENOSPC"  # 640 MB > the quotas


def test_staged_files_reach_the_home_folder(start):
    kernel = start(**{"data.txt": "hello"})
    kernel.run(sb.STAGE_SNIPPET)
    assert out(kernel.run("print(open('data.txt').read())")) == "hello\n"


def test_two_kernels_do_not_see_each_other(start):
    first, second = start(), start()
    first.run("open('mine.txt', 'w').write('x')")
    assert out(second.run("import os\nprint(os.path.exists('mine.txt'), len(os.listdir('/proc')))")).startswith("False")


def test_interrupt_kill_and_a_forked_child(start, box):
    kernel = start()
    run = kernel.run("while True:\n    pass", timeout=1, grace=10)
    assert (run.status, run.kernel_alive) == ("timeout", True)
    uid = int(out(kernel.run("import os, time\nif os.fork() == 0:\n    time.sleep(300)\n    os._exit(0)\n"
                             "print(os.getuid())")))
    kernel.kill()
    assert kernel.process.returncode == -9
    if box.as_root:  # the kernel was pid 1 of its sandbox: the forked child died with it
        for _ in range(40):
            listing = subprocess.run(["ps", "-eo", "uid=,stat="], capture_output=True, text=True).stdout
            if not [line for line in listing.splitlines() if int(line.split()[0]) == uid]:
                break
            time.sleep(0.25)
        else:
            pytest.fail(f"processes of uid {uid} survived: {listing}")


def test_a_result_is_kept_apart_from_the_outputs(start):
    kernel = start()
    run = kernel.run(f"from IPython.display import publish_display_data\n"
                     f"publish_display_data({{{RESULT_MIME!r}: 'abc'}})\nprint('shown')")
    assert run.results == ["abc"] and out(run) == "shown\n"
    assert RESULT_MIME not in str(run.outputs)


def test_detect_modes(monkeypatch):
    assert sb.detect("none")[0] is None and "--sandbox none" in sb.detect("none")[1]
    monkeypatch.setattr(sb.shutil, "which", lambda name: None)
    sandbox, note = sb.detect("auto")
    assert sandbox is None and "bubblewrap is not installed" in note
    with pytest.raises(sb.SandboxUnavailable, match="apt-get install bubblewrap"):
        sb.detect("bwrap")
    with pytest.raises(ValueError, match="auto, bwrap or none"):
        sb.detect("docker")


def test_a_python_inside_the_course_folder_is_refused(box):
    with pytest.raises(sb.SandboxUnavailable, match="contains"):
        sb.Sandbox(box.bwrap, box.setpriv, hidden=[box.python_dirs[0] / "some" / "course"])
