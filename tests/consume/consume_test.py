#!/usr/bin/env python3
"""Proves that vow can be consumed from outside its own build.

    consume_test.py pkg-config --build-root B --source-root S --meson M --cxx C... [--tls] [--pg]
    consume_test.py subproject --build-root B --source-root S --meson M --cxx C... [--tls] [--pg]
    consume_test.py cmake --build-root B --source-root S --meson M --cxx C... [--tls] [--pg]

pkg-config: `meson install --destdir` the build into a temporary directory,
then compile consumer.cpp with the flags `pkg-config --cflags --libs vow`
gives for that tree (PKG_CONFIG_SYSROOT_DIR points into it), run it and
compare its output with consumer.expected.

subproject: in a temporary directory, a meson project (project/meson.build)
with subprojects/vow linked to the vow source tree; it calls dependency('vow'),
builds consumer.cpp, runs it and compares its output the same way.

cmake: `meson install --destdir` as for pkg-config, then a CMake project
(cmake/CMakeLists.txt) that calls find_package(vow 0.1 REQUIRED COMPONENTS
...) with CMAKE_PREFIX_PATH pointing into that tree, links vow::vow (and
vow::tls, vow::pg), builds with Debian's cmake, runs and compares the same
way. It also checks that find_package(vow 0.2) is refused: 0.x versions
are compatible only within a minor version.

With --tls (the build has vow-tls), tls_consumer.cpp is built and run the
same way, through `pkg-config --cflags --libs vow-tls` or
dependency('vow-tls'), with certificates made by tests/tls/make_certs.sh,
and compared with tls_consumer.expected.

With --pg (the build has vow-pg), pg_consumer.cpp likewise, through
`pkg-config --cflags --libs vow-pg` or dependency('vow-pg'), compared with
pg_consumer.expected (it needs no server: a refused connect).

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


def check_consumer(exe, name="consumer", args=()):
    with open(os.path.join(HERE, name + ".expected"), encoding="utf-8") as f:
        expected = f.read()
    out = run([exe] + list(args))
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
    build_with_pkg_config(args, tmp, dest, env, "vow", "consumer")
    if args.tls:
        exe = build_with_pkg_config(args, tmp, dest, env, "vow-tls", "tls_consumer", check=False)
        check_consumer(exe, "tls_consumer", [make_certs(args, tmp)])
    if args.pg:
        build_with_pkg_config(args, tmp, dest, env, "vow-pg", "pg_consumer")


def build_with_pkg_config(args, tmp, dest, env, package, name, check=True):
    cflags = shlex.split(run(["pkg-config", "--cflags", package], env=env))
    libs = shlex.split(run(["pkg-config", "--libs", package], env=env))
    if not any(f.startswith("-I" + dest) for f in cflags):
        raise Failure(f"pkg-config --cflags {package} does not point into {dest}: {cflags}")
    # The library is not in the loader's path: record where it was installed.
    # (The sysroot also prefixes fmt's -I/-L with dest; those dirs do not exist.)
    lib = "lib" + package + ".so*"
    rpath = [f"-Wl,-rpath,{f[2:]}" for f in libs
             if f.startswith("-L" + dest) and glob.glob(os.path.join(f[2:], lib))]
    if not rpath:
        raise Failure(f"no installed {lib} in the -L directories of {libs}")
    exe = os.path.join(tmp, name)
    run(args.cxx + ["-std=c++20", "-Wall", "-Wextra", "-Wpedantic", "-Werror"]
        + sanitize_flags(args.sanitize) + cflags
        + [os.path.join(HERE, name + ".cpp"), "-o", exe] + libs + rpath)
    if check:
        check_consumer(exe, name)
    return exe


def make_certs(args, tmp):
    certs = os.path.join(tmp, "certs")
    run(["sh", os.path.join(args.source_root, "tests", "tls", "make_certs.sh"), certs])
    return certs


def installed_prefix(args, tmp):
    """meson install --destdir; returns the installed prefix inside it."""
    dest = os.path.join(tmp, "dest")
    run(args.meson + ["install", "-C", args.build_root, "--destdir", dest,
                      "--no-rebuild", "--quiet"])
    found = glob.glob(os.path.join(dest, "**", "cmake", "vow", "vowConfig.cmake"), recursive=True)
    if len(found) != 1:
        raise Failure(f"expected one installed vowConfig.cmake under {dest}, found {found}")
    # <prefix>/<libdir>/cmake/vow/vowConfig.cmake, libdir one or two levels deep
    prefix = os.path.dirname(found[0])
    while not os.path.isdir(os.path.join(prefix, "include", "vow")):
        if prefix == dest:
            raise Failure(f"no include/vow above {found[0]}")
        prefix = os.path.dirname(prefix)
    return prefix


def cmake_configure(args, tmp, source, build, prefix, extra=()):
    compiler = list(args.cxx)
    launcher = []
    if len(compiler) > 1 and os.path.basename(compiler[0]) == "ccache":
        launcher = [f"-DCMAKE_CXX_COMPILER_LAUNCHER={compiler[0]}"]
        compiler = compiler[1:]
    flags = " ".join(sanitize_flags(args.sanitize))
    return subprocess.run(
        ["cmake", "-S", source, "-B", build, f"-DCMAKE_PREFIX_PATH={prefix}",
         f"-DCMAKE_CXX_COMPILER={compiler[0]}", f"-DCMAKE_CXX_FLAGS={flags}",
         f"-DCMAKE_EXE_LINKER_FLAGS={flags}", "-DCMAKE_BUILD_TYPE=Debug"] + launcher + list(extra),
        capture_output=True, text=True)


def via_cmake(args, tmp):
    prefix = installed_prefix(args, tmp)
    source = os.path.join(tmp, "project")
    os.makedirs(source)
    shutil.copy(os.path.join(HERE, "cmake", "CMakeLists.txt"), source)
    for name in ("consumer", "tls_consumer", "pg_consumer"):
        shutil.copy(os.path.join(HERE, name + ".cpp"), source)
    build = os.path.join(tmp, "build")
    options = [f"-DVOW_TLS={'ON' if args.tls else 'OFF'}", f"-DVOW_PG={'ON' if args.pg else 'OFF'}"]
    done = cmake_configure(args, tmp, source, build, prefix, options)
    print(done.stdout + done.stderr, end="")
    if done.returncode != 0:
        raise Failure("cmake could not configure the project with find_package(vow)")
    run(["cmake", "--build", build])
    check_consumer(os.path.join(build, "consumer"))
    if args.tls:
        check_consumer(os.path.join(build, "tls_consumer"), "tls_consumer", [make_certs(args, tmp)])
    if args.pg:
        check_consumer(os.path.join(build, "pg_consumer"), "pg_consumer")
    # A version it is not compatible with is refused, saying why.
    newer = os.path.join(tmp, "newer")
    os.makedirs(newer)
    with open(os.path.join(newer, "CMakeLists.txt"), "w", encoding="utf-8") as f:
        f.write("cmake_minimum_required(VERSION 3.20)\nproject(newer LANGUAGES CXX)\n"
                "find_package(vow 0.2 REQUIRED)\n")
    done = cmake_configure(args, tmp, newer, os.path.join(tmp, "newer-build"), prefix)
    if done.returncode == 0 or "version" not in (done.stdout + done.stderr).lower():
        raise Failure(f"find_package(vow 0.2) was not refused for its version:\n{done.stdout}{done.stderr}")


def via_subproject(args, tmp):
    project = os.path.join(tmp, "project")
    os.makedirs(os.path.join(project, "subprojects"))
    shutil.copy(os.path.join(HERE, "project", "meson.build"), project)
    shutil.copy(os.path.join(HERE, "consumer.cpp"), project)
    shutil.copy(os.path.join(HERE, "tls_consumer.cpp"), project)
    shutil.copy(os.path.join(HERE, "pg_consumer.cpp"), project)
    os.symlink(os.path.abspath(args.source_root), os.path.join(project, "subprojects", "vow"))
    build = os.path.join(tmp, "build")
    options = ["--force-fallback-for=vow,vow-tls,vow-pg"]  # never a vow installed on the system
    if args.sanitize not in ("", "none"):
        options += ["-Db_sanitize=" + args.sanitize, "-Db_lundef=false"]
    env = dict(os.environ, CXX=shlex.join(args.cxx))
    run(args.meson + ["setup", build, project] + options, env=env)
    run(args.meson + ["compile", "-C", build])
    check_consumer(os.path.join(build, "consumer"))
    if args.tls:
        exe = os.path.join(build, "tls_consumer")
        if not os.path.exists(exe):
            raise Failure("dependency('vow-tls') was not found: tls_consumer was not built")
        check_consumer(exe, "tls_consumer", [make_certs(args, tmp)])
    if args.pg:
        exe = os.path.join(build, "pg_consumer")
        if not os.path.exists(exe):
            raise Failure("dependency('vow-pg') was not found: pg_consumer was not built")
        check_consumer(exe, "pg_consumer")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["pkg-config", "subproject", "cmake"])
    parser.add_argument("--build-root", required=True)
    parser.add_argument("--source-root", required=True)
    parser.add_argument("--meson", nargs="+", required=True, help="the meson command")
    parser.add_argument("--cxx", nargs="+", required=True, help="the C++ compiler command")
    parser.add_argument("--sanitize", default="none", help="the build's b_sanitize")
    parser.add_argument("--tls", action="store_true", help="the build has vow-tls: consume it too")
    parser.add_argument("--pg", action="store_true", help="the build has vow-pg: consume it too")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix=f"vow-consume-{args.mode}-")
    try:
        {"pkg-config": via_pkg_config, "subproject": via_subproject, "cmake": via_cmake}[args.mode](args, tmp)
    except Failure as e:
        print(f"FAIL: {e}\n(kept {tmp})")
        return 1
    shutil.rmtree(tmp)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
