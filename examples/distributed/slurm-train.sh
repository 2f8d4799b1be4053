#!/usr/bin/env bash
# Train a GAN data-parallel on Slurm: one rank per task (here 2 nodes x 2
# tasks = 4 ranks). srun sets SLURM_PROCID, SLURM_NTASKS and SLURM_LOCALID in
# every task; each task maps them to the variables neuralart-train reads (the
# ones torchrun sets):
#   RANK=SLURM_PROCID  WORLD_SIZE=SLURM_NTASKS  LOCAL_RANK=SLURM_LOCALID
#   MASTER_ADDR=first host of the allocation  MASTER_PORT=derived from the job id
#
#   sbatch examples/distributed/slurm-train.sh /shared/runs/letters \
#     --data /shared/data/letters --batch 128 --steps 20000
#
# RUN_DIR and --data must be on a file system every node sees: every rank
# reads the data (and the checkpoint when resuming), rank 0 writes the run
# folder. Submitting again on a RUN_DIR with a checkpoint resumes it (with
# the same number of tasks). --batch is the global batch: a multiple of the
# number of tasks. Each task gets --threads SLURM_CPUS_PER_TASK unless the
# options give --threads. See docs/distributed.md.
#SBATCH --job-name=neuralart-gan
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=2
#SBATCH --cpus-per-task=8
#SBATCH --mem=16G
#SBATCH --time=12:00:00
#SBATCH --output=neuralart-gan-%j.log
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: sbatch $0 RUN_DIR [neuralart-train gan options]" >&2
  exit 2
fi
run_dir="$1"
shift
: "${SLURM_JOB_ID:?run this with sbatch}"

# The repository this script lives in (sbatch copies scripts: set
# NEURALART_ROOT when it is not the submit directory), or NEURALART_TRAIN.
root="${NEURALART_ROOT:-${SLURM_SUBMIT_DIR:-$(pwd)}}"
train="${NEURALART_TRAIN:-$root/build/trainer/neuralart-train}"

MASTER_ADDR="$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)"
# One port per job, so that two jobs sharing a node do not collide.
MASTER_PORT="${MASTER_PORT:-$((20000 + SLURM_JOB_ID % 20000))}"
WORLD_SIZE="$SLURM_NTASKS"
export MASTER_ADDR MASTER_PORT WORLD_SIZE

if [ -f "$run_dir/checkpoint.ckpt" ]; then
  mode=(--resume "$run_dir")
else
  mode=(--out "$run_dir")
fi
threads=(--threads "${SLURM_CPUS_PER_TASK:-1}")
for arg in "$@"; do
  [ "$arg" = --threads ] && threads=()
done

echo "neuralart-gan: $WORLD_SIZE ranks, rendezvous at $MASTER_ADDR:$MASTER_PORT"
# Single quotes: each task expands its own SLURM_PROCID and SLURM_LOCALID.
# shellcheck disable=SC2016
# --kill-on-bad-exit: one failed rank ends them all (the others would wait).
srun --kill-on-bad-exit=1 bash -c \
  'export RANK="$SLURM_PROCID" LOCAL_RANK="$SLURM_LOCALID"; exec "$@"' \
  neuralart-rank "$train" gan "${mode[@]}" "${threads[@]}" "$@"
