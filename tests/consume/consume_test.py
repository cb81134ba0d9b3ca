#!/usr/bin/env python3
"""Proves that vow can be consumed from outside its own build.

    consume_test.py pkg-config --build-root B --source-root S --meson M --cxx C...
    consume_test.py subproject --build-root B --source-root S --meson M --cxx C...

pkg-config: `meson install --destdir` the build into a temporary directory,
then compile consumer.cpp with the flags `pkg-config --cflags --libs vow`
gives for that tree (PKG_CONFIG_SYSROOT_DIR points into it), run it and
compare its output with consumer.expected.

subproject: in a temporary directory, a meson project (project/meson.build)
with subprojects/vow linked to the vow source tree; it calls dependency('vow'),
builds consumer.cpp, runs it and compares its output the same way.

Both build with the sanitizers of the build under test (--sanitize), so they
run in the ASan CI build too. The temporary directory is removed on success
and kept, with its path printed, on failure.
"""

import argparse
import glob
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


class Failure(Exception):
    pass


def run(cmd, **kwargs):
    print("$ " + shlex.join(cmd), flush=True)
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if done.stdout:
        print(done.stdout, end="")
    if done.stderr:
        print(done.stderr, end="")
    if done.returncode != 0:
        raise Failure(f"{cmd[0]} exited with status {done.returncode}")
    return done.stdout


def check_consumer(exe):
    with open(os.path.join(HERE, "consumer.expected"), encoding="utf-8") as f:
        expected = f.read()
    out = run([exe])
    if out != expected:
        raise Failure(f"consumer printed:\n{out}expected:\n{expected}")


def sanitize_flags(sanitize):
    return [] if sanitize in ("", "none") else ["-fsanitize=" + sanitize]


def via_pkg_config(args, tmp):
    dest = os.path.join(tmp, "dest")
    run(args.meson + ["install", "-C", args.build_root, "--destdir", dest,
                      "--no-rebuild", "--quiet"])
    found = glob.glob(os.path.join(dest, "**", "pkgconfig", "vow.pc"), recursive=True)
    if len(found) != 1:
        raise Failure(f"expected one installed vow.pc under {dest}, found {found}")
    env = dict(os.environ,
               PKG_CONFIG_PATH=os.path.dirname(found[0]),
               PKG_CONFIG_SYSROOT_DIR=dest)
    cflags = shlex.split(run(["pkg-config", "--cflags", "vow"], env=env))
    libs = shlex.split(run(["pkg-config", "--libs", "vow"], env=env))
    if not any(f.startswith("-I" + dest) for f in cflags):
        raise Failure(f"pkg-config --cflags vow does not point into {dest}: {cflags}")
    # The library is not in the loader's path: record where it was installed.
    # (The sysroot also prefixes fmt's -I/-L with dest; those dirs do not exist.)
    rpath = [f"-Wl,-rpath,{f[2:]}" for f in libs
             if f.startswith("-L" + dest) and glob.glob(os.path.join(f[2:], "libvow.so*"))]
    if not rpath:
        raise Failure(f"no installed libvow.so in the -L directories of {libs}")
    exe = os.path.join(tmp, "consumer")
    run(args.cxx + ["-std=c++20", "-Wall", "-Wextra", "-Wpedantic", "-Werror"]
        + sanitize_flags(args.sanitize) + cflags
        + [os.path.join(HERE, "consumer.cpp"), "-o", exe] + libs + rpath)
    check_consumer(exe)


def via_subproject(args, tmp):
    project = os.path.join(tmp, "project")
    os.makedirs(os.path.join(project, "subprojects"))
    shutil.copy(os.path.join(HERE, "project", "meson.build"), project)
    shutil.copy(os.path.join(HERE, "consumer.cpp"), project)
    os.symlink(os.path.abspath(args.source_root), os.path.join(project, "subprojects", "vow"))
    build = os.path.join(tmp, "build")
    options = ["--force-fallback-for=vow"]  # never a vow installed on the system
    if args.sanitize not in ("", "none"):
        options += ["-Db_sanitize=" + args.sanitize, "-Db_lundef=false"]
    env = dict(os.environ, CXX=shlex.join(args.cxx))
    run(args.meson + ["setup", build, project] + options, env=env)
    run(args.meson + ["compile", "-C", build])
    check_consumer(os.path.join(build, "consumer"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["pkg-config", "subproject"])
    parser.add_argument("--build-root", required=True)
    parser.add_argument("--source-root", required=True)
    parser.add_argument("--meson", nargs="+", required=True, help="the meson command")
    parser.add_argument("--cxx", nargs="+", required=True, help="the C++ compiler command")
    parser.add_argument("--sanitize", default="none", help="the build's b_sanitize")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix=f"vow-consume-{args.mode}-")
    try:
        (via_pkg_config if args.mode == "pkg-config" else via_subproject)(args, tmp)
    except Failure as e:
        print(f"FAIL: {e}\n(kept {tmp})")
        return 1
    shutil.rmtree(tmp)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
