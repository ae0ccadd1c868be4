#!/usr/bin/env bash
# Installs what the gateway needs on a fresh machine: system packages when missing, a virtualenv,
# and the Python dependencies. Safe to run again; it only does what is missing.
set -euo pipefail

apt_install() {
  if [ "$(id -u)" != "0" ]; then
    echo "setup: missing system packages ($*); run as root or install them" >&2; return 1
  fi
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; export APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if [ "${1:-}" = "--system-test-packages" ]; then
  # PostgreSQL: the store and pipeline tests run against it as well as SQLite.
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt_install postgresql
  fi
  # Chromium for the browser tests (Playwright drives the system's browser; it downloads none).
  if ! command -v chromium >/dev/null 2>&1; then
    apt_install chromium
  fi
  exit 0
fi

# Tesseract reads scanned purchase orders (English, German, French and Spanish language data:
# parsers.pdf.ocr.LANGUAGES reads with all four, so accented names come back with their accents).
if ! command -v tesseract >/dev/null 2>&1 \
    || ! ls /usr/share/tesseract-ocr/*/tessdata/deu.traineddata >/dev/null 2>&1 \
    || ! ls /usr/share/tesseract-ocr/*/tessdata/fra.traineddata >/dev/null 2>&1 \
    || ! ls /usr/share/tesseract-ocr/*/tessdata/spa.traineddata >/dev/null 2>&1; then
  apt_install tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-fra tesseract-ocr-spa
fi

VENV="${1:-.venv}"
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
  apt_install python3 python3-venv python3-dev
fi
if ! "$PYTHON" -m venv --help >/dev/null 2>&1; then
  apt_install python3-venv
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[dev]"
