#!/bin/bash
# Written by spinn submit: job 'cuba', profile 'p'.
#PBS -N cuba
#PBS -l select=1:ncpus=4:mpiprocs=4
#PBS -l walltime=01:30:00
#PBS -o /home/ada/sims/spinn-jobs/cuba-20250102-030405/job.out
#PBS -e /home/ada/sims/spinn-jobs/cuba-20250102-030405/job.err

set -e
cd "$PBS_O_WORKDIR"
# Unbuffered ranks: output of a rank killed by an abort is not lost.
export PYTHONUNBUFFERED=1
mpiexec -n 4 /opt/venv/bin/python -m launch.rank /home/ada/sims/cuba.py --tstop 1000 --out 'run 1.pkl'
