#!/bin/bash
# Written by spinn submit: job 'not_here', profile 'example-slurm'.
#SBATCH --job-name=not_here
#SBATCH --partition=compute
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=32
#SBATCH --mem-per-cpu=4G
#SBATCH --time=01:00:00
#SBATCH --chdir=<CWD>
#SBATCH --output=<CWD>/spinn-jobs/not_here-<TIMESTAMP>/job.out
#SBATCH --error=<CWD>/spinn-jobs/not_here-<TIMESTAMP>/job.err

set -e
# Unbuffered ranks: output of a rank killed by an abort is not lost.
export PYTHONUNBUFFERED=1
export SPINN_MEMORY_PER_RANK=4G
srun -n 64 --kill-on-bad-exit=1 <PYTHON> -m launch.rank <CWD>/nets/not_here.py --tstop 100
