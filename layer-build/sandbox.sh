# Sourced by the layer-build scripts that run a layer in an empty root (test-layer.sh, ext-cost.sh,
# precompile.sh, cold-app.sh): the bubblewrap command line that gives a process what Lambda gives a custom
# runtime and nothing else.
#
#   sandbox_workdir             makes WORK, a scratch directory the sandbox user can reach, removed on exit
#   sandbox_unpack LAYER        sets OPT to the layer: LAYER itself if it is a directory, else the zip
#                               unpacked into $WORK/opt
#   sandbox_init OPT_DIR        the unpacked layer (bound read-only at /opt); sets LAYER_ARCH and how to run
#                               its binaries on this host (natively, through binfmt_misc, or qemu called
#                               explicitly: SANDBOX_EMULATION=none|binfmt|explicit)
#   sandbox_argv TASK TMP [bwrap options...]
#                               sets SB to the command prefix that runs something with TASK at /var/task
#                               (read-only; SANDBOX_TASK_BIND=--bind makes it writable, for build steps) and
#                               TMP at /tmp, as uid/gid 65534 (SANDBOX_USER=self: as the caller, for build
#                               steps that write into an app the caller owns); append the command.
#   fresh_tmp                   a new empty directory under $WORK owned by the sandbox user
#
# Needs: bubblewrap, setpriv (util-linux), unprivileged user namespaces; for a foreign architecture
# qemu-user-static.

sandbox_workdir() {
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
  chmod 755 "$WORK"                    # the sandbox user must reach the bind sources
}

sandbox_unpack() {
  if [ -d "$1" ]; then
    OPT=$1
    return
  fi
  command -v unzip > /dev/null || { echo "$(basename "$0"): unzip is missing (apt-get install unzip)" >&2; return 1; }
  unzip -q "$1" -d "$WORK/opt"
  OPT=$WORK/opt
}

sandbox_init() {
  SANDBOX_OPT=$1
  local machine
  machine=$(od -An -tx1 -j18 -N2 "$SANDBOX_OPT/bin/php" | tr -d ' ')   # e_machine: 3e00 x86_64, b700 aarch64
  case "$machine" in 3e00) LAYER_ARCH=x86_64 ;; b700) LAYER_ARCH=aarch64 ;; *) LAYER_ARCH=unknown ;; esac
  EMU=()
  QEMU=""
  SANDBOX_EMULATION=none
  if [ "$LAYER_ARCH" != "$(uname -m)" ]; then
    # binfmt_misc with the F flag (Debian's qemu-user-static registers "PF") opens the interpreter when it is
    # registered, so foreign binaries run inside the empty root too, php-fpm's workers included. Without it
    # only commands started through /qemu explicitly can run (not the processes they exec).
    if binfmt_ready "$LAYER_ARCH"; then
      SANDBOX_EMULATION=binfmt
    else
      QEMU=$(command -v "qemu-$LAYER_ARCH-static") \
        || { echo "no qemu-$LAYER_ARCH-static to run a $LAYER_ARCH layer" >&2; return 1; }
      EMU=(/qemu)
      SANDBOX_EMULATION=explicit
    fi
  fi
}

# binfmt_ready ARCH: qemu is registered for ARCH with the fix-binary flag.
binfmt_ready() {
  local entry=/proc/sys/fs/binfmt_misc/qemu-$1
  [ -r "$entry" ] && grep -qx enabled "$entry" && grep -q '^flags: .*F' "$entry"
}

# The environment is what Lambda gives a custom runtime
# (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html), LD_LIBRARY_PATH included: it
# names Amazon Linux's dirs first, which the layer's RPATH must beat.
sandbox_argv() {
  local task=$1 tmp=$2; shift 2
  SB=()
  [ "${SANDBOX_USER:-lambda}" = self ] || SB=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  SB+=(bwrap --ro-bind "$SANDBOX_OPT" /opt "${SANDBOX_TASK_BIND:---ro-bind}" "$task" /var/task --bind "$tmp" /tmp
      --proc /proc --dev /dev --unshare-all --share-net --die-with-parent --clearenv --chdir /var/task
      --setenv PATH /usr/local/bin:/usr/bin:/bin:/opt/bin
      --setenv LD_LIBRARY_PATH /lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib
      --setenv LAMBDA_TASK_ROOT /var/task --setenv LAMBDA_RUNTIME_DIR /var/runtime
      --setenv _HANDLER "${SANDBOX_HANDLER:-public/index.php}" --setenv TZ :UTC --setenv LANG en_US.UTF-8
      --setenv AWS_REGION us-east-1 --setenv AWS_DEFAULT_REGION us-east-1
      --setenv AWS_LAMBDA_FUNCTION_NAME layer-test --setenv AWS_LAMBDA_FUNCTION_VERSION '$LATEST'
      --setenv AWS_LAMBDA_FUNCTION_MEMORY_SIZE 1024 --setenv AWS_LAMBDA_LOG_FORMAT Text
      --setenv AWS_LAMBDA_INITIALIZATION_TYPE on-demand "$@")
  [ ${#EMU[@]} -eq 0 ] || SB+=(--ro-bind "$QEMU" /qemu)
  SB+=(-- "${EMU[@]}")
}

fresh_tmp() {
  local d
  d=$(mktemp -d "$WORK/tmp.XXXX")
  [ "${SANDBOX_USER:-lambda}" = self ] || chown 65534:65534 "$d"
  chmod 700 "$d"
  echo "$d"
}
