#!/bin/sh
# Run examples/offline.yaml as a Slurm job array of three shards, then join
# them. From the repository root (with ggmi on the PATH and ../shared
# beside the repository, as for the offline example):
#
#   sh examples/jobs/slurm-array.sh          submits the array and the merge job
#
# Each array task runs `ggmi run --shard auto/3`: ggmi reads
# SLURM_ARRAY_TASK_ID (less SLURM_ARRAY_TASK_MIN), does its third of the
# configurations into $GGMI_RUNS/shard-I and ends by writing the
# completion marker shards/I-of-3.json with its stats. The merge job
# (afterok: it starts once all three tasks succeeded) joins the shards into
# $GGMI_RUNS/merged and writes the report; ggmi refuses, listing what is
# missing, if a shard has not finished its share.
#
# GGMI (default ggmi) is the command, GGMI_RUNS (default runs/offline-shards)
# the directory of the shards, GGMI_ARGS extra flags for every ggmi run
# (e.g. "--stage generate").
#SBATCH --job-name=ggmi-offline
#SBATCH --cpus-per-task=2
#SBATCH --output=slurm-%x-%A_%a.out
set -eu
GGMI=${GGMI:-ggmi}
RUNS=${GGMI_RUNS:-runs/offline-shards}
ARGS=${GGMI_ARGS:-}

if [ "${1:-}" = merge ]; then
	# shellcheck disable=SC2086
	exec "$GGMI" run examples/offline.yaml --out "$RUNS/merged" \
		--merge "$RUNS/shard-0,$RUNS/shard-1,$RUNS/shard-2" $ARGS
fi
if [ -z "${SLURM_ARRAY_TASK_ID:-}" ]; then
	jid=$(sbatch --parsable --array=0-2 "$0")
	sbatch --dependency="afterok:$jid" --job-name=ggmi-offline-merge "$0" merge
	exit 0
fi
# shellcheck disable=SC2086
exec "$GGMI" run examples/offline.yaml --shard auto/3 --out "$RUNS/shard-$SLURM_ARRAY_TASK_ID" $ARGS
