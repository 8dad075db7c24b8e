# Sourced by python-env.sh and test-image.sh: the Debian mirror this machine's apt already uses,
# so debootstrap reaches the same archive (security suites aside), else Debian's own.
find_debian_mirror() {
  local mirror
  mirror="$(grep -hoE '^(URIs:|deb)[[:space:]]+https?://[^[:space:]]+/debian/?' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
    grep -v security | head -n1 | awk '{print $NF}')" || true
  printf '%s\n' "${mirror:-http://deb.debian.org/debian}"
}
