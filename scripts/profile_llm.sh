#!/usr/bin/env bash
# Measure LLM iteration times on the local GPU with `schedlab profile --llm` and score the
# roofline against them (`schedlab llm check`), as docs/llm.md reports: Qwen2.5-1.5B,
# Llama-2-7B and Llama-3-8B (one block and the head each, random weights, bf16).
# Each profile folder is packed as OUT/MODEL.tgz, each check written as OUT/MODEL-check.json.
# Usage: scripts/profile_llm.sh OUT   (needs PyTorch with CUDA: pip install 'schedlab[profile]')
set -uo pipefail
out=${1:?usage: scripts/profile_llm.sh OUT}
work=$(mktemp -d)
mkdir -p "$out"
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$out/log.txt"
for model in qwen2.5-1.5b llama-2-7b llama-3-8b; do
  began=$SECONDS
  python3 -m schedlab profile --llm "$model" --out "$work/$model" --no-progress 2>&1 | tee -a "$out/log.txt"
  echo "== $model: exit $? in $((SECONDS - began)) s" | tee -a "$out/log.txt"
  tar czf "$out/$model.tgz" -C "$work" "$model"
  python3 -m schedlab llm check --profile "$work/$model" | tee -a "$out/log.txt"
  python3 -m schedlab llm check --profile "$work/$model" --json > "$out/$model-check.json"
done
