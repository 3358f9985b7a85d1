#!/usr/bin/env bash
# Install the system programs tcpbook needs, through apt-get, only when missing:
#   dot (graphviz)   - renders the state diagrams
#   chromium         - the browser tests drive Debian's chromium (no browser download)
#   tcpdump, ip      - recording real kernel captures (tests/test_captures.py)
#   fonts-noto-cjk   - Chinese in pages and figures (the glossary, the Chinese edition):
#                      without a CJK font, browsers and matplotlib draw tofu (□□□□)
set -euo pipefail
declare -A pkg_for=([dot]=graphviz [chromium]=chromium [tcpdump]=tcpdump [ip]=iproute2)
missing=()
for cmd in dot chromium tcpdump ip; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkg_for[$cmd]}")
done
has_cjk_font() {
  command -v fc-list >/dev/null 2>&1 && fc-list ':lang=zh' family | grep -q 'Noto Sans CJK'
}
has_cjk_font || missing+=(fonts-noto-cjk)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing system packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "error: need ${missing[*]} (apt-get install ${missing[*]}); run as root or with sudo" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: need ${missing[*]} but apt-get is not available; install them with your package manager" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for cmd in dot chromium tcpdump ip; do
  command -v "$cmd" >/dev/null 2>&1 || { echo "error: $cmd still missing after apt-get" >&2; exit 1; }
done
has_cjk_font || { echo "error: no Noto Sans CJK font after installing fonts-noto-cjk (fc-list :lang=zh)" >&2; exit 1; }
