#!/bin/bash
# Written by spinn submit: job 'cuba', profile 'p'.
#PBS -N cuba
#PBS -q compute
#PBS -l select=2:ncpus=32:mpiprocs=32:mem=128gb
#PBS -l walltime=36:00:00
#PBS -A proj42
#PBS -o /home/ada/sims/spinn-jobs/cuba-20250102-030405/job.out
#PBS -e /home/ada/sims/spinn-jobs/cuba-20250102-030405/job.err

set -e
cd "$PBS_O_WORKDIR"
# Unbuffered ranks: output of a rank killed by an abort is not lost.
export PYTHONUNBUFFERED=1
export SPINN_MEMORY_PER_RANK=4G
module load openmpi/4.1
module load hdf5
export OMP_NUM_THREADS=1
ulimit -s unlimited
mpirun -n 64 /opt/venv/bin/python -m launch.rank /home/ada/sims/cuba.py --tstop 1000 --out 'run 1.pkl'
