# Sourced by the scripts that need Debian packages: `install PACKAGE` runs apt-get install (as
# root), after one `apt-get update` per script run; without root or apt-get it says what is
# missing and stops the script.
apt_updated=""
install() {
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        echo "$(basename "$0"): $1 is missing (install it)" >&2
        exit 1
    fi
    if [ -z "$apt_updated" ]; then
        apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}
