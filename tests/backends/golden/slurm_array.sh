#!/bin/bash
# benchgrid workers as one SLURM job array: each array task is one worker.
# Written by benchgrid; submit it again by hand with: sbatch <this file>
#SBATCH --job-name='bench; rm -rf ~'
#SBATCH --array=0-2%2
#SBATCH --output='/scratch/lab grid/it'"'"'s "quoted"; rm -rf ~/100%%/slurm/logs/worker-%A_%a.out'
#SBATCH --open-mode=append
#SBATCH --nodes=1
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=2
#SBATCH --time=2:00:00
#SBATCH --signal=B:USR1@60
#SBATCH --mem=4G
#SBATCH --partition=cpu
#SBATCH --account=def-lab
#SBATCH --qos=normal
#SBATCH --gres=gpu:1
#SBATCH --constraint=cascade
#SBATCH --mail-type=END

# The end of this allocation (epoch s), read before setup so slow setup is counted.
benchgrid_start_s=$(date +%s)
benchgrid_end_s=
benchgrid_end=$(squeue -h -j "$SLURM_JOB_ID" -o %e 2>/dev/null)
case $benchgrid_end in
    [0-9][0-9][0-9][0-9]-*) benchgrid_end_s=$(date -d "$benchgrid_end" +%s 2>/dev/null) ;;
esac
case $benchgrid_end_s in
    '' | *[!0-9]*) benchgrid_end_s=$((benchgrid_start_s + 7200)) ;;
esac
# Claim only jobs expected to end before SLURM's warning signal.
benchgrid_until=()
if [ -n "$benchgrid_end_s" ]; then
    benchgrid_until=(--until "$((benchgrid_end_s - 60))")
fi
export BENCHGRID_SCHEDULER_JOB_ID="${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
export BENCHGRID_SCHEDULER_LOG='/scratch/lab grid/it'"'"'s "quoted"; rm -rf ~/100%/slurm/logs/worker-'"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}.out"

# setup
module load python/3.11
source "$HOME/venvs/bench/bin/activate"

# exec: the worker becomes the batch shell, so SLURM's B:USR1 warning and SIGTERM reach it.
exec /opt/venv/bin/python -m benchgrid.cli.main work '/scratch/lab grid/it'"'"'s "quoted"; rm -rf ~/100%' --name "slurm-${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}" --mem-gb 4 --max-jobs 100 --restart-crashed "${benchgrid_until[@]}"
