"""Every rank prints its rank and the size, then exits 0."""
import sys

from mpi4py import MPI

comm = MPI.COMM_WORLD
# One write per line: unbuffered, print() writes the text and the newline separately, and the
# ranks' output could interleave between the two.
sys.stdout.write(f"hello from rank {comm.Get_rank()} of {comm.Get_size()}\n")
comm.barrier()
