"""Scaling laws: the :class:`Law` interface, the registry :data:`LAWS`, one module per family.

Importing this package registers every built-in law, family by family in a fixed order (the
order of :func:`list_laws`): classic (chinchilla, kaplan, power laws), shape, BNSL, transfer and
downstream error, MoE (routed_moe, moe_power), data-constrained, over-training, learning curve.
"""

# isort: skip_file
from scaling_bayes._core.vocabulary import INPUT_DESCRIPTIONS
from scaling_bayes.laws.base import (
    LAWS,
    ClosedFormAllocation,
    Law,
    LawRegistry,
    Param,
    Pivot,
    UnknownLawError,
    get_law,
    is_builtin,
    list_laws,
    register_law,
)
# Registration order is list_laws() order: keep these imports in this order (not sorted).
from scaling_bayes.laws.classic import CHINCHILLA, KAPLAN
from scaling_bayes.laws.shape import (
    CHINCHILLA_SHAPE,
    KAPLAN_SHAPE,
    SHAPE_REF_ASPECT,
    shape_pair,
    with_shape,
)
from scaling_bayes.laws.bnsl import BNSL1, BNSL2, make_bnsl
from scaling_bayes.laws.transfer import DOWNSTREAM_ERROR, TRANSFER
from scaling_bayes.laws.moe import MOE_POWER, ROUTED_MOE
from scaling_bayes.laws.data_constrained import DATA_CONSTRAINED, MUENNIGHOFF_2023
from scaling_bayes.laws.overtraining import OVERTRAINING
from scaling_bayes.laws.learning_curve import (
    KAPLAN_2020_LEARNING_CURVE,
    KAPLAN_ALPHA_B,
    KAPLAN_B_STAR,
    KAPLAN_LEARNING_CURVE,
    kaplan_min_conversions,
)
from scaling_bayes.laws.schedule import LR_ANNEALING

LAWS._mark_builtins()

__all__ = [
    # interface and registry
    "Law", "Param", "Pivot", "ClosedFormAllocation", "LawRegistry", "LAWS", "UnknownLawError",
    "get_law", "list_laws", "register_law", "is_builtin", "INPUT_DESCRIPTIONS",
    # built-in laws and their constructors
    "CHINCHILLA", "KAPLAN", "CHINCHILLA_SHAPE", "KAPLAN_SHAPE", "SHAPE_REF_ASPECT", "with_shape",
    "shape_pair", "BNSL1", "BNSL2", "make_bnsl", "TRANSFER", "DOWNSTREAM_ERROR", "ROUTED_MOE",
    "MOE_POWER",
    "DATA_CONSTRAINED", "MUENNIGHOFF_2023", "OVERTRAINING", "KAPLAN_LEARNING_CURVE",
    "KAPLAN_2020_LEARNING_CURVE", "KAPLAN_B_STAR", "KAPLAN_ALPHA_B", "kaplan_min_conversions",
    "LR_ANNEALING",
]
