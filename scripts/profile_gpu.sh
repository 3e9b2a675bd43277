#!/usr/bin/env bash
# Measure profiles on the local GPU with `schedlab profile`, as reported in docs/interference.md:
# a smoke run, 30 random pairs, 30 random groups of three and 10 of four (all 17 configurations,
# time-sliced), and a small MPS run. Each run's folder is packed as OUT/NAME.tgz when it ends.
# Usage: scripts/profile_gpu.sh OUT   (needs PyTorch with CUDA, torchvision and transformers)
set -uo pipefail
out=${1:?usage: scripts/profile_gpu.sh OUT}
work=$(mktemp -d)
mkdir -p "$out"
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$out/log.txt"
run() {
  local name=$1; shift
  local began=$SECONDS
  python3 -m schedlab profile --out "$work/$name" --no-progress "$@" 2>&1 | tee -a "$out/log.txt"
  local status=$?
  echo "== $name: exit $status in $((SECONDS - began)) s" | tee -a "$out/log.txt"
  tar czf "$out/$name.tgz" -C "$work" "$name"
  return $status
}
common=(--seconds 0.8 --warmup 0.25)
run smoke --models resnet50,gpt2 --batches 1 --train bert/16 --seconds 0.3 --warmup 0.2 || exit 1
run pairs --pairs 30 --seed 1 "${common[@]}"
run triples --size 3 --pairs 30 --seed 2 "${common[@]}"
run quads --size 4 --pairs 10 --seed 3 "${common[@]}"
run mps --models resnet50,bert --batches 1,8 --train '' --pairs 6 --mps --mps-pcts 50 "${common[@]}"
