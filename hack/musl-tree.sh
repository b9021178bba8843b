#!/bin/sh
# Makes the tree that `make` builds skiff against musl with (.build/musl):
# musl-gcc looks for headers and libraries in musl's own directories only,
# so the kernel's headers, libseccomp's header and its static archive
# (Debian's, built against glibc; seccomp/fortify.go supplies the one glibc
# symbol it needs that musl lacks) are linked in here. Nothing else of
# glibc's is visible to the build.
set -eu
dir=${1:?usage: hack/musl-tree.sh DIR}
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
for f in /usr/include/linux /usr/include/asm-generic "/usr/include/$multiarch/asm" \
	/usr/include/seccomp.h /usr/include/seccomp-syscalls.h "/usr/lib/$multiarch/libseccomp.a"; do
	[ -e "$f" ] || { echo "hack/musl-tree.sh: $f is missing (hack/deps.sh installs it)" >&2; exit 1; }
done
mkdir -p "$dir/include" "$dir/lib"
ln -sfn /usr/include/linux "$dir/include/linux"
ln -sfn /usr/include/asm-generic "$dir/include/asm-generic"
ln -sfn "/usr/include/$multiarch/asm" "$dir/include/asm"
ln -sfn /usr/include/seccomp.h "$dir/include/seccomp.h"
ln -sfn /usr/include/seccomp-syscalls.h "$dir/include/seccomp-syscalls.h"
ln -sfn "/usr/lib/$multiarch/libseccomp.a" "$dir/lib/libseccomp.a"
