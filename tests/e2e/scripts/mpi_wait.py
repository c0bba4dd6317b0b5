"""Each rank writes its pid into the directory argv[1], says "ready", then waits forever.

The wait is inside an MPI call, where Python never sees SIGINT: stopping this job takes
more than forwarding Ctrl-C.
"""
import os
import sys

from mpi4py import MPI

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
with open(os.path.join(sys.argv[1], f"rank{rank}.pid"), "w") as file:
    file.write(str(os.getpid()))
print(f"ready {rank}", flush=True)
comm.recv(source=MPI.ANY_SOURCE, tag=99)  # never sent
