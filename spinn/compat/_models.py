"""Cell types as sPyNNaker has them: current-based cells that record their
synaptic currents under the names ``gsyn_exc`` / ``gsyn_inh``, and
sPyNNaker's current-based ``Izhikevich``."""
from spinn.pynn import extra_models as _extra
from spinn.pynn import standardmodels as _std

#: PyNN variable name -> engine state variable
GSYN_AS_ISYN = {"gsyn_exc": "isyn_exc", "gsyn_inh": "isyn_inh"}


def _with_gsyn(base):
    """``base`` whose synaptic currents can be recorded as ``gsyn_exc`` /
    ``gsyn_inh`` (nA)."""
    units = dict(base.units, gsyn_exc="nA", gsyn_inh="nA")
    recordable = list(base.recordable) + [v for v in GSYN_AS_ISYN if v not in base.recordable]
    return type(base.__name__, (base,), {
        "__doc__": base.__doc__, "__module__": __name__, "recordable": recordable,
        "units": units, "engine_variables": GSYN_AS_ISYN})


IF_curr_exp = _with_gsyn(_std.IF_curr_exp)
IF_curr_alpha = _with_gsyn(_std.IF_curr_alpha)
Izhikevich = _with_gsyn(_extra.Izhikevich_curr_exp)
Izhikevich.__name__ = Izhikevich.__qualname__ = "Izhikevich"
