"""The ``spinn`` command: start simulations on MPI ranks from named cluster profiles.

``launch`` never imports mpi4py or the simulator: it builds a launch line
(``mpiexec``/``srun`` ... ``python -m launch.rank script.py``) and runs it.
"""
