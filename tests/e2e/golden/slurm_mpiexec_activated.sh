#!/bin/bash
# Written by spinn submit: job 'cuba', profile 'p'.
#SBATCH --job-name=cuba
#SBATCH --nodes=3
#SBATCH --ntasks-per-node=8
#SBATCH --chdir=/home/ada/sims
#SBATCH --output=/home/ada/sims/spinn-jobs/cuba-20250102-030405/job.out
#SBATCH --error=/home/ada/sims/spinn-jobs/cuba-20250102-030405/job.err

set -e
# Unbuffered ranks: output of a rank killed by an abort is not lost.
export PYTHONUNBUFFERED=1
source $HOME/venvs/spinn/bin/activate
mpiexec -n 20 -bind-to core python -m launch.rank /home/ada/sims/cuba.py --tstop 1000 --out 'run 1.pkl'
