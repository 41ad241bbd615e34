#!/bin/sh
# Parity of the quantised dlib ResNet variants on frl-london, via 'facerisk compare' (issue 7).
# Writes benchmarks/results/parity/<B>_vs_<A>/compare.{json,csv,md}; model files go to $FACERISK_MODELS
# (never into the repository), runs to $REPORTS.
#   FACERISK_DATA_HOME=../shared/datasets sh benchmarks/quantized_parity.sh
set -eu
FR=${FACERISK:-.venv/bin/facerisk}
REPORTS=${REPORTS:-reports}
OUT=${OUT:-benchmarks/results/parity}
M=$($FR models convert-dlib)
for v in fp16 int8-dynamic int8-static; do
  $FR models quantize "$M" --to $v          # int8-static: calibrated on 20 seeded frl-london people
done
base=${M%.onnx}
$FR run --name parity-dlib --reports-dir "$REPORTS" -q
$FR run --embedder onnx --model-path "$M" --name parity-onnx-fp32 --reports-dir "$REPORTS" -q
for v in fp16 int8-dynamic int8-static; do
  $FR run --embedder onnx --model-path "$base.$v.onnx" --name parity-onnx-$v --reports-dir "$REPORTS" -q
done
$FR compare "$REPORTS/parity-dlib" "$REPORTS/parity-onnx-fp32" --out "$OUT/onnx-fp32_vs_dlib"
for v in fp16 int8-dynamic int8-static; do
  $FR compare "$REPORTS/parity-onnx-fp32" "$REPORTS/parity-onnx-$v" --out "$OUT/onnx-${v}_vs_onnx-fp32"
done
