"""Rank 1 raises while rank 0 waits in a barrier: without `python -m mpi4py` this hangs."""
from mpi4py import MPI

comm = MPI.COMM_WORLD
if comm.Get_rank() == 1:
    raise RuntimeError("boom on rank 1")
comm.barrier()
print("rank 0 passed the barrier: the job did not abort")
