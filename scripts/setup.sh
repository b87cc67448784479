#!/usr/bin/env bash
# Installs the system packages the build needs, once: nasm (mozjpeg's SIMD; without it the
# JPEG codec silently loses its SIMD paths), pkg-config and libheif-dev (HEIC originals are
# decoded by the system libheif, >= 1.14). Safe to run again.
set -euo pipefail
missing=()
command -v nasm >/dev/null 2>&1 || missing+=(nasm)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v cc >/dev/null 2>&1 || missing+=(build-essential)
pkg-config --exists 'libheif >= 1.14' 2>/dev/null || missing+=(libheif-dev)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust from https://rustup.rs first" >&2
  exit 1
fi
