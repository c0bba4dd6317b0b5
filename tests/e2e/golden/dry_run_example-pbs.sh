#!/bin/bash
# Written by spinn submit: job 'not_here', profile 'example-pbs'.
#PBS -N not_here
#PBS -q workq
#PBS -l select=2:ncpus=32:mpiprocs=32:mem=128gb
#PBS -l walltime=01:00:00
#PBS -o <CWD>/spinn-jobs/not_here-<TIMESTAMP>/job.out
#PBS -e <CWD>/spinn-jobs/not_here-<TIMESTAMP>/job.err

set -e
cd "$PBS_O_WORKDIR"
# Unbuffered ranks: output of a rank killed by an abort is not lost.
export PYTHONUNBUFFERED=1
export SPINN_MEMORY_PER_RANK=4G
module load openmpi
mpiexec -n 64 <PYTHON> -m launch.rank <CWD>/nets/not_here.py --tstop 100
