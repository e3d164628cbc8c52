#!/usr/bin/env python3
"""Writes an OCI image layout for lambda-fpm without Docker: the layer's runtime under /opt, an app under
/var/task, /opt/bootstrap as the entrypoint.

  oci_image.py --runtime LAYER.zip|OPT_DIR --app APP_DIR --out IMAGE_DIR [--handler public/index.php]
               [--tag latest]

IMAGE_DIR gets `oci-layout`, `index.json` and `blobs/sha256/`: the image config, the manifest and two
gzipped tar layers, the runtime first (so images of different apps share it, and it can serve as the base
of a customer-managed runtime) and the app second. Architecture and OS come from the ELF header of
bin/php. Everything is reproducible: sorted entries, owner 0:0, timestamps from SOURCE_DATE_EPOCH (default
build.sh's), gzip without name or time, so the same inputs give the same digests.

Push it with `skopeo copy oci:IMAGE_DIR:TAG docker://REGISTRY/REPO:TAG`; `skopeo inspect oci:IMAGE_DIR:TAG`
or `umoci unpack --rootless --image IMAGE_DIR:TAG BUNDLE` read it back (layer-build/test-layer.sh does).
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import stat
import sys
import tarfile
import time
import zipfile

# What Lambda's own base images set, minus what Lambda sets itself at run time: the runtime finds its task
# root and PATH as in a zip deployment.
ENV = ["PATH=/usr/local/bin:/usr/bin:/bin:/opt/bin", "LAMBDA_TASK_ROOT=/var/task", "LAMBDA_RUNTIME_DIR=/var/runtime"]
ARCH = {0x3E: ("amd64", None), 0xB7: ("arm64", "v8")}


class Blobs:
    def __init__(self, out):
        self.dir = os.path.join(out, "blobs", "sha256")
        os.makedirs(self.dir, exist_ok=True)

    def put(self, data, media_type):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(self.dir, digest), "wb") as f:
            f.write(data)
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}


def tar_info(name, mode, mtime, kind=tarfile.REGTYPE, size=0):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime, info.size = kind, mode, mtime, size
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def parents(path):
    """'a/b/c' -> ['a', 'a/b']"""
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def entries_from_dir(root, prefix):
    """(name, mode, is_dir, read) for every file and directory under root, placed under prefix."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root)
        base = prefix if rel == "." else f"{prefix}/{rel}"
        out.append((base, stat.S_IMODE(os.lstat(dirpath).st_mode), True, None))
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                path = os.path.realpath(path)     # the zip layer holds no links either
                st = os.stat(path)
            if stat.S_ISREG(st.st_mode):
                out.append((f"{base}/{name}", stat.S_IMODE(st.st_mode), False,
                            lambda p=path: open(p, "rb").read()))
    return out


def entries_from_zip(path, prefix):
    z = zipfile.ZipFile(path)
    out = [(prefix, 0o755, True, None)]
    for info in z.infolist():
        name = f"{prefix}/{info.filename.rstrip('/')}"
        mode = (info.external_attr >> 16) & 0o7777 or (0o755 if info.is_dir() else 0o644)
        out.append((name, mode, info.is_dir(), None if info.is_dir() else (lambda i=info: z.read(i))))
    return out


def layer(entries, mtime, extra_dirs=()):
    """A gzipped tar of the entries; returns (gz bytes, diff_id of the uncompressed tar)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        seen = set()
        items = list(extra_dirs) + entries
        for name, mode, is_dir, read in sorted(items, key=lambda e: e[0]):
            for parent in parents(name):
                if parent not in seen:
                    seen.add(parent)
                    tar.addfile(tar_info(parent + "/", 0o755, mtime, tarfile.DIRTYPE))
            if name in seen:
                continue
            seen.add(name)
            if is_dir:
                tar.addfile(tar_info(name + "/", mode, mtime, tarfile.DIRTYPE))
            else:
                data = read()
                tar.addfile(tar_info(name, mode, mtime, size=len(data)), io.BytesIO(data))
    tar_bytes = raw.getvalue()
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0, filename="", compresslevel=6) as g:
        g.write(tar_bytes)
    return gz.getvalue(), "sha256:" + hashlib.sha256(tar_bytes).hexdigest()


def php_arch(entries):
    for name, _, is_dir, read in entries:
        if name == "opt/bin/php" and not is_dir:
            head = read()[:20]
            machine = int.from_bytes(head[18:20], "little")
            if head[:4] == b"\x7fELF" and machine in ARCH:
                return ARCH[machine]
            sys.exit(f"oci_image: opt/bin/php is no x86_64 or aarch64 ELF file (e_machine {machine:#x})")
    sys.exit("oci_image: the runtime has no bin/php: is it a lambda-fpm layer?")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runtime", required=True, help="the layer zip, or the unpacked /opt directory")
    ap.add_argument("--app", required=True, help="the app's directory (becomes /var/task)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--handler", default="public/index.php")
    ap.add_argument("--tag", default="latest")
    args = ap.parse_args()

    if os.path.isdir(args.runtime):
        runtime = entries_from_dir(args.runtime, "opt")
    else:
        runtime = entries_from_zip(args.runtime, "opt")
    if not os.path.isfile(os.path.join(args.app, args.handler)):
        sys.exit(f"oci_image: the app has no {args.handler} (--handler)")
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", 1700000000))   # build.sh's default
    arch, variant = php_arch(runtime)

    if os.path.exists(args.out):
        for dirpath, dirnames, filenames in os.walk(args.out, topdown=False):
            for n in filenames:
                os.unlink(os.path.join(dirpath, n))
            for n in dirnames:
                os.rmdir(os.path.join(dirpath, n))
    blobs = Blobs(args.out)
    # /tmp exists in every Lambda sandbox; an empty one keeps the image runnable elsewhere too.
    runtime_gz, runtime_id = layer(runtime, epoch, extra_dirs=[("tmp", 0o1777, True, None)])
    app_gz, app_id = layer(entries_from_dir(args.app, "var/task"), epoch)
    layers = [blobs.put(runtime_gz, "application/vnd.oci.image.layer.v1.tar+gzip"),
              blobs.put(app_gz, "application/vnd.oci.image.layer.v1.tar+gzip")]
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
    config = {
        "created": created, "architecture": arch, "os": "linux",
        "config": {"Entrypoint": ["/opt/bootstrap"], "Env": ENV + [f"_HANDLER={args.handler}"],
                   "WorkingDir": "/var/task"},
        "rootfs": {"type": "layers", "diff_ids": [runtime_id, app_id]},
        "history": [{"created": created, "created_by": "lambda-fpm layer-build: the runtime under /opt"},
                    {"created": created, "created_by": "lambda-fpm layer-build: the app under /var/task"}],
    }
    if variant:
        config["variant"] = variant
    config_desc = blobs.put(json.dumps(config, sort_keys=True).encode(), "application/vnd.oci.image.config.v1+json")
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config_desc, "layers": layers}
    manifest_desc = blobs.put(json.dumps(manifest, sort_keys=True).encode(),
                              "application/vnd.oci.image.manifest.v1+json")
    manifest_desc["annotations"] = {"org.opencontainers.image.ref.name": args.tag}
    manifest_desc["platform"] = {"architecture": arch, "os": "linux", **({"variant": variant} if variant else {})}
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [manifest_desc]}
    with open(os.path.join(args.out, "index.json"), "w") as f:
        json.dump(index, f, sort_keys=True)
    with open(os.path.join(args.out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    total = sum(d["size"] for d in layers) + config_desc["size"] + manifest_desc["size"]
    print(f"{args.out}:{args.tag} {arch}: runtime layer {layers[0]['size']} bytes, app layer {layers[1]['size']}"
          f" bytes, {total} bytes in all (compressed)")


if __name__ == "__main__":
    main()
