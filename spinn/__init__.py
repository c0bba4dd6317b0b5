"""spinn: a distributed many-core spiking neural network simulator with a PyNN API.

``import spinn as sim`` (or ``import pyNN.spinn as sim``) gives PyNN's API.
The engine underneath (partitioner, per-rank numpy loop, multicast spike
exchange over MPI) does not depend on PyNN; see ARCHITECTURE.md.
"""
from pyNN import errors, random, space                               # noqa: F401
from pyNN.connectors import *                                        # noqa: F401,F403
from pyNN.network import Network                                     # noqa: F401
from pyNN.parameters import Sequence                                 # noqa: F401
from pyNN.random import GSLRNG, NumpyRNG, RandomDistribution         # noqa: F401
from pyNN.recording import *                                         # noqa: F401,F403
from pyNN.space import Space                                         # noqa: F401
from pyNN.standardmodels import StandardCellType

from .pynn.control import (end, get_current_time, get_max_delay, get_min_delay,  # noqa: F401
                           get_run_statistics, get_time_step, initialize, num_processes,
                           rank, reset, restore_checkpoint, run, run_for, run_until,
                           save_checkpoint, set_number_of_neurons_per_core, setup)
from .pynn import extra_models                                      # noqa: F401
from .pynn.electrodes import (ACSource, DCSource, NoisyCurrentSource,  # noqa: F401
                               StepCurrentSource)
from .pynn.populations import Assembly, Population, PopulationView  # noqa: F401
from .pynn.procedural_api import connect, create, record, record_gsyn, record_v  # noqa: F401
from .pynn.projections import Projection                             # noqa: F401
from .pynn.standardmodels import *                                   # noqa: F401,F403
from .pynn.standardmodels import StaticSynapse                       # noqa: F401
from .pynn.synapses import (AdditivePotentiationMultiplicativeDepression,  # noqa: F401
                            AdditiveWeightDependence, GutigWeightDependence,
                            MultiplicativeWeightDependence, SpikeNearestPairRule,
                            MultiQuantalSynapse, SimpleStochasticSynapse,
                            SpikePairRule, STDPMechanism, StochasticTsodyksMarkramSynapse,
                            TsodyksMarkramSynapse, Vogels2011Rule)
from .pynn.random import NativeRNG                                   # noqa: F401

__version__ = "0.1.0"


def list_standard_models():
    """Names of the standard cell types spinn can simulate."""
    return [name for name, obj in globals().items()
            if isinstance(obj, type) and issubclass(obj, StandardCellType)
            and hasattr(obj, "engine_model")]
from . import io                                                  # noqa: F401,E402
from . import live                                                # noqa: F401,E402
from . import nir                                                 # noqa: F401,E402
