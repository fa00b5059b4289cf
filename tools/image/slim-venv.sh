#!/bin/sh
# Trim a freshly installed virtualenv down to what Syncline needs at run time.
#
# Why: the runtime dependencies (pyarrow, duckdb, kubernetes) install ~450 MB,
# most of it test suites, C++ headers, Cython sources, optional Arrow
# components and a second, asynchronous Kubernetes client that Syncline never
# imports. The image is pulled by every CronJob pod, so its size matters.
# Everything removed here is either never imported by Syncline or imported
# behind an ImportError guard by its own package (pyarrow.fs, pyarrow.flight);
# the Containerfile runs an import smoke test right after this script.
#
# Usage: slim-venv.sh VENV   (POSIX sh: it runs inside the image build)
set -eu

venv=${1:?usage: slim-venv.sh VENV}
site=$(echo "$venv"/lib/python3*/site-packages)
[ -d "$site" ] || { echo "slim-venv: no site-packages under $venv" >&2; exit 1; }
before=$(du -sk "$site" | cut -f1)

# Test suites shipped inside packages (pyarrow/tests alone is ~7 MB).
find "$site" -mindepth 2 -maxdepth 2 -type d \( -name tests -o -name test \) -prune -exec rm -rf {} +

# Build-time only files: C/C++ headers and sources, Cython sources, type stubs.
rm -rf "$site"/pyarrow/include "$site"/pyarrow/src
find "$site" -type f \( -name '*.pyx' -o -name '*.pxd' -o -name '*.pxi' -o -name '*.pyi' \
    -o -name '*.h' -o -name '*.hpp' -o -name '*.cc' -o -name '*.cpp' \) -delete

if [ -d "$site/pyarrow" ]; then
    cd "$site/pyarrow"
    # Optional Arrow components Syncline does not use: Flight RPC (~35 MB with
    # its Python glue) and the S3 filesystem (~17 MB). pyarrow.fs and
    # pyarrow.flight treat a missing extension module as "not built".
    # If Syncline ever reads s3:// paths through pyarrow.fs, drop the S3 line.
    rm -f libarrow_flight.so* libarrow_python_flight.so* _flight.cpython-*.so
    rm -f libarrow_s3.so* _s3fs.cpython-*.so
    rm -f _pyarrow_cpp_tests.cpython-*.so
    # Wheels cannot hold symlinks, so every libarrow_python*.so exists three
    # times (name, soname, full version). The loader only asks for the soname;
    # the other two names become symlinks to it.
    for real in libarrow_python*.so.[0-9]*; do
        case "$real" in *.so.*.*) continue ;; esac   # only the soname (lib.so.N)
        for alias in "${real%%.so.*}.so" "$real".*; do
            if [ -f "$alias" ] && [ ! -L "$alias" ]; then ln -sf "$real" "$alias"; fi
        done
    done
    cd - >/dev/null
fi

# Several wheels ship their shared objects with symbol tables; pyarrow's alone
# are ~35 MB of them. Strip when the build stage has binutils. Libraries that
# auditwheel grafted into <name>.libs/ were rewritten by patchelf, which strip
# can corrupt; they are left alone (and are stripped already).
if command -v strip >/dev/null 2>&1; then
    find "$site" -type f \( -name '*.so' -o -name '*.so.*' \) ! -path '*.libs/*' | while read -r lib; do
        strip --strip-unneeded "$lib" 2>/dev/null || echo "slim-venv: could not strip $lib" >&2
    done
fi

# The asyncio flavour of the Kubernetes client (~65 MB): Syncline uses the
# synchronous kubernetes.client; kopf talks to the API with aiohttp itself.
rm -rf "$site"/kubernetes/aio

after=$(du -sk "$site" | cut -f1)
echo "slim-venv: site-packages $((before / 1024)) MB -> $((after / 1024)) MB" >&2
