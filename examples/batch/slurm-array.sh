#!/usr/bin/env bash
# Restyle one folder of videos on N Slurm nodes: each array task takes one
# shard of the same sorted file list (batch-restyle --shard i/N). Outputs are
# written atomically and finished files are skipped, so resubmitting the array
# after a failure or a pre-emption only does what is left.
#
#   sbatch --array=0-3 examples/batch/slurm-array.sh /shared/in /shared/out [restyle options]
#
# IN and OUT must be on a file system every node sees. Each task runs JOBS
# pipelines at once, each with THREADS network threads (JOBS x THREADS should
# match --cpus-per-task).
#SBATCH --job-name=neuralart-restyle
#SBATCH --array=0-3
#SBATCH --cpus-per-task=8
#SBATCH --mem=8G
#SBATCH --time=04:00:00
#SBATCH --output=neuralart-restyle-%A_%a.log
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: sbatch --array=0-N-1 $0 IN_DIR OUT_DIR [batch-restyle options]" >&2
  exit 2
fi
in_dir="$1" out_dir="$2"
shift 2
: "${SLURM_ARRAY_TASK_ID:?run this with sbatch --array}"
# Shard count: the array's size (Slurm >= 20.02 sets SLURM_ARRAY_TASK_COUNT).
shards="${SLURM_ARRAY_TASK_COUNT:-$((SLURM_ARRAY_TASK_MAX - SLURM_ARRAY_TASK_MIN + 1))}"
shard=$((SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-0}))
cpus="${SLURM_CPUS_PER_TASK:-2}"
jobs="${JOBS:-$(((cpus + 1) / 2))}"
threads="${THREADS:-2}"

# The repository this script lives in (sbatch copies scripts: set
# NEURALART_ROOT when it is not the submit directory).
root="${NEURALART_ROOT:-${SLURM_SUBMIT_DIR:-$(pwd)}}"
exec "$root/pipelines/batch-restyle" "$in_dir" "$out_dir" \
  --shard "$shard/$shards" --jobs "$jobs" --threads "$threads" "$@"
