#!/bin/bash
# Written by spinn submit: job 'cuba', profile 'p'.
#SBATCH --job-name=cuba
#SBATCH --partition=compute
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=32
#SBATCH --mem-per-cpu=4G
#SBATCH --time=1-12:00:00
#SBATCH --account=proj42
#SBATCH --chdir=/home/ada/sims
#SBATCH --output=/home/ada/sims/spinn-jobs/cuba-20250102-030405/job.out
#SBATCH --error=/home/ada/sims/spinn-jobs/cuba-20250102-030405/job.err

set -e
# Unbuffered ranks: output of a rank killed by an abort is not lost.
export PYTHONUNBUFFERED=1
export SPINN_MEMORY_PER_RANK=4G
module load openmpi/4.1
module load hdf5
export OMP_NUM_THREADS=1
ulimit -s unlimited
srun -n 64 --kill-on-bad-exit=1 --mpi=pmix /opt/venv/bin/python -m launch.rank /home/ada/sims/cuba.py --tstop 1000 --out 'run 1.pkl'
