#!/usr/bin/env python3
"""Small ELF helpers for layer-build/build.sh.

  elftool.py closure ROOTFS LIBDIR FILE...
      Copies into LIBDIR every shared library that FILE... need (DT_NEEDED, transitively), looked up in the
      Debian root ROOTFS the way the target's loader would (its multiarch dirs), dereferencing symlinks, so the
      layer holds plain files named by the name the binaries ask for. Prints the copied names.

  elftool.py patch FILE OLD=NEW...
      Replaces every occurrence of the byte string OLD by NEW, which must have the same length: string constants
      such as "/usr/share/zoneinfo" baked into Debian's PHP and glibc are moved under /opt without relinking,
      and no offset in the file changes. Fails when OLD does not occur, so a new Debian build that moved a path
      is noticed instead of silently shipping a layer that looks in /usr.

readelf (binutils) reads the dynamic section: it understands every architecture, so the same code handles an
arm64 root on an x86_64 host.
"""
import os
import shutil
import subprocess
import sys

MULTIARCH = {"x86_64": "x86_64-linux-gnu", "aarch64": "aarch64-linux-gnu"}


def dynamic(path):
    """(needed, has_own_search_path) of an ELF file, or None when it is not a dynamic ELF object."""
    with open(path, "rb") as f:
        if f.read(4) != b"\x7fELF":
            return None
    out = subprocess.run(["readelf", "-dW", path], capture_output=True, text=True).stdout
    needed, search = [], False
    for line in out.splitlines():
        if "(NEEDED)" in line:
            needed.append(line.split("[", 1)[1].rstrip("]"))
        elif "(RUNPATH)" in line or "(RPATH)" in line:
            search = True
    return needed, search


def realpath_in(rootfs, path):
    """Resolves symlinks as if rootfs were /: Debian has absolute links (lib64/ld-linux-x86-64.so.2)."""
    for _ in range(40):
        if not os.path.islink(path):
            return path
        target = os.readlink(path)
        if target.startswith("/"):
            path = os.path.join(rootfs, target.lstrip("/"))
        else:
            path = os.path.normpath(os.path.join(os.path.dirname(path), target))
    sys.exit(f"elftool: symlink loop at {path}")


def closure(rootfs, libdir, files):
    arch = os.environ.get("LAYER_ARCH", "x86_64")
    triplet = MULTIARCH[arch]
    search = [os.path.join(rootfs, d) for d in (f"usr/lib/{triplet}", f"lib/{triplet}", "usr/lib", "lib")]
    os.makedirs(libdir, exist_ok=True)
    seen, todo, missing = set(), list(files), []
    while todo:
        path = todo.pop()
        info = dynamic(path)
        if not info:
            continue
        for name in info[0]:
            if os.path.exists(os.path.join(os.path.dirname(path), name)):
                continue  # shipped beside it and found through $ORIGIN (gconv's libJIS.so & co.)
            if name in seen:
                continue
            seen.add(name)
            for d in search:
                cand = realpath_in(rootfs, os.path.join(d, name))
                if os.path.exists(cand):
                    dest = os.path.join(libdir, name)
                    if not os.path.exists(dest):
                        shutil.copy(cand, dest)
                        os.chmod(dest, 0o755)
                    todo.append(dest)
                    print(name)
                    break
            else:
                missing.append(name)
    if missing:
        sys.exit(f"elftool closure: libraries not found in {rootfs}: {' '.join(sorted(missing))}")


def patch(path, pairs):
    data = open(path, "rb").read()
    for pair in pairs:
        old, new = (s.encode() for s in pair.split("=", 1))
        if len(old) != len(new):
            sys.exit(f"elftool patch: {old!r} and {new!r} differ in length")
        count = data.count(old)
        if count == 0:
            sys.exit(f"elftool patch: {old!r} not found in {path}")
        data = data.replace(old, new)
        print(f"{os.path.basename(path)}: {old.decode()} -> {new.decode()} ({count}x)")
    # Write through a new file: the original may be a hard link into the cached Debian root.
    tmp = path + ".patching"
    with open(tmp, "wb") as f:
        f.write(data)
    shutil.copymode(path, tmp)
    os.replace(tmp, path)


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "closure":
        closure(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif len(sys.argv) >= 4 and sys.argv[1] == "patch":
        patch(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) == 4 and sys.argv[1] == "resolve":
        # elftool.py resolve ROOTFS PATH: the file PATH (relative to ROOTFS) names, symlinks followed in ROOTFS
        print(realpath_in(sys.argv[2], os.path.join(sys.argv[2], sys.argv[3].lstrip("/"))))
    elif len(sys.argv) >= 3 and sys.argv[1] == "has-search-path":
        # exit 0 when the file carries its own RUNPATH/RPATH (build.sh then forces it to /opt/lib)
        info = dynamic(sys.argv[2])
        sys.exit(0 if info and info[1] else 1)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
