#!/bin/bash
# benchgrid workers as one Grid Engine array job: each task is one worker.
# Written by benchgrid; submit it again by hand with:
#   qsub -N bench-grid -t 1-3 -tc 2 -o /dev/null -j y -S /bin/bash -notify -wd '/home/ada/it'"'"'s here' -V -l h_rt=7200 -l h_vmem=4G -pe smp 2 -q all.q -P lab -l arch=lx-amd64 <this file>

# The log, opened here: qsub -o cannot carry every path.
benchgrid_log_dir='/scratch/lab grid/it'"'"'s "quoted"; rm -rf ~/100%, a:b/sge/logs'
exec >>"$benchgrid_log_dir/worker-$JOB_ID.$SGE_TASK_ID.out" 2>&1
export BENCHGRID_SCHEDULER_JOB_ID="$JOB_ID.$SGE_TASK_ID"
export BENCHGRID_SCHEDULER_LOG="$benchgrid_log_dir/worker-$JOB_ID.$SGE_TASK_ID.out"

benchgrid_until=()
# The end of this allocation: the task's start (qstat; no variable has it) + h_rt.
# (awk: one record per tag, whatever the XML's line breaks)
benchgrid_start_s=$(qstat -j "$JOB_ID" -xml 2>/dev/null | awk -v RS="<" -F ">" -v task="$SGE_TASK_ID" \
    '$1 == "JAT_task_number" { n = $2 } $1 == "JAT_start_time" && n == task { print $2; exit }')
case $benchgrid_start_s in
    '' | *[!0-9]*) benchgrid_start_s=$(date +%s) ;;
esac
# some versions give milliseconds
if [ ${#benchgrid_start_s} -gt 11 ]; then benchgrid_start_s=$((benchgrid_start_s / 1000)); fi
# Claim only jobs expected to end before h_rt, when SIGUSR2 (-notify) comes.
benchgrid_until=(--until "$((benchgrid_start_s + 7200 - 60))")

# setup
module load python/3.11
source "$HOME/venvs/bench/bin/activate"

# exec: the worker becomes the job's process, so SIGUSR2 (-notify) and qdel reach it.
exec /opt/venv/bin/python -m benchgrid work '/scratch/lab grid/it'"'"'s "quoted"; rm -rf ~/100%, a:b' --name "sge-$JOB_ID.$SGE_TASK_ID" --mem-gb 4 --max-jobs 100 --restart-crashed "${benchgrid_until[@]}"
