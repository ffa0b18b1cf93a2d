#!/usr/bin/env bash
# Builds the static koalja-agent and its FROM-scratch image, then verifies the
# image without running a container (no container engine runs here):
# podman save as an OCI archive, umoci unpack, chroot into the root file
# system and run `/koalja-agent --version`. Prints the binary and image sizes.
#
# Needs podman and umoci (scripts/test.sh installs them) and root for chroot.
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-gnu
# Static on the gnu target (the musl target cannot be installed here);
# --target keeps the flag off build scripts and proc macros.
RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --locked --profile agent -p koalja-agent --bin koalja-agent --target "$target"
binary="target/$target/agent/koalja-agent"
if ! file "$binary" | grep -q 'static'; then
  echo "agent-image: $binary is not statically linked" >&2
  file "$binary" >&2
  exit 1
fi

work=target/agent-image
rm -rf "$work"
mkdir -p "$work/context"
cp "$binary" "$work/context/koalja-agent"
tag="localhost/koalja-agent:$(cargo pkgid -p koalja-agent | sed 's/.*[#@]//')"
podman build --quiet -f runtime/Containerfile -t "$tag" "$work/context" >/dev/null
podman save --quiet --format oci-archive -o "$work/image.oci.tar" "$tag"

mkdir -p "$work/layout"
tar -xf "$work/image.oci.tar" -C "$work/layout"
# podman names the manifest by the image's tag; unpack whatever it holds.
ref=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["manifests"][0]; print(m.get("annotations",{}).get("org.opencontainers.image.ref.name","latest"))' "$work/layout/index.json")
umoci unpack --image "$work/layout:$ref" "$work/bundle" >/dev/null
rootfs="$work/bundle/rootfs"
contents=$(cd "$rootfs" && find . -mindepth 1 | sort | tr '\n' ' ')
if [ "$contents" != "./koalja-agent " ]; then
  echo "agent-image: the root file system holds more than the agent: $contents" >&2
  exit 1
fi
version=$(chroot "$rootfs" /koalja-agent --version)
expected="koalja-agent $(cargo pkgid -p koalja-agent | sed 's/.*[#@]//')"
if [ "$version" != "$expected" ]; then
  echo "agent-image: chroot run printed '$version', expected '$expected'" >&2
  exit 1
fi
user=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["process"]["user"]["uid"])' "$work/bundle/config.json")
echo "agent-image: $tag verified ($version in a chroot of the unpacked image, uid $user)"
echo "agent-image: binary $(stat -c %s "$binary") bytes, image archive $(stat -c %s "$work/image.oci.tar") bytes"
