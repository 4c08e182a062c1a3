"""The input vocabulary: the names a law's inputs and a data set's columns share.

One table for both sides of the package: the laws (:attr:`scaling_bayes.laws.Law.inputs`,
their descriptions in formulas and summaries) and the data layer (column recognition, error
messages). Both import it from here; neither imports the other.

* :data:`STANDARD`: the standard columns, with their recognised column names in :data:`ALIASES`
  and their descriptions in data messages in :data:`DESCRIPTIONS`;
* :data:`COVARIATES`: inputs beyond N, D, C that a law may take, read from the extra columns
  by name (case-insensitive, first alias found wins). The aspect ratio is taken from an
  ``aspect`` column, else derived as width / depth;
* :data:`INPUT_DESCRIPTIONS`: every law input with the words law texts use for it (read-only).

A law that needs another covariate adds an entry to :data:`COVARIATES` in this module.

Imports nothing from the package.
"""

from __future__ import annotations

from types import MappingProxyType

STANDARD = ("N", "D", "C", "loss")

#: Recognised column names (case-insensitive), in order of preference.
ALIASES: dict[str, tuple[str, ...]] = {
    "N": (
        "n", "params", "parameters", "n_params", "num_params", "nparams", "model_size",
        "model_params", "param_count", "parameter_count", "n_parameters", "size",
    ),
    "D": (
        "d", "tokens", "n_tokens", "num_tokens", "train_tokens", "training_tokens",
        "tokens_seen", "data", "data_size", "dataset_size",
    ),
    "C": (
        "c", "flops", "compute", "flop", "train_flops", "training_flops", "training_flop",
        "c_6nd", "compute_flops",
    ),
    "loss": (
        "loss", "l", "val_loss", "eval_loss", "validation_loss", "valid_loss", "test_loss",
        "final_loss",
    ),
}

#: Descriptions of the standard columns in data messages.
DESCRIPTIONS = {
    "N": "model size in parameters",
    "D": "training tokens",
    "C": "training compute in FLOPs",
    "loss": "final loss (nats/token)",
}

#: Covariates beyond N, D, C that a law may take as inputs (``Law.inputs``), read from the extra
#: columns by name (case-insensitive, first alias found wins): ``{input: (description,
#: aliases)}``. Laws that need another covariate add an entry here. The aspect ratio is taken
#: from an ``aspect`` column, else derived as width / depth.
COVARIATES: dict[str, tuple[str, tuple[str, ...]]] = {
    "aspect": ("aspect ratio d_model/n_layers", ("aspect", "aspect_ratio")),
    "width": ("model width d_model",
              ("width", "d_model", "hidden_size", "n_embd", "model_dim", "dim")),
    "depth": ("number of layers",
              ("depth", "n_layers", "n_layer", "num_layers", "layers", "num_hidden_layers")),
    "L_train": ("loss on the training distribution (nats/token)",
                ("l_train", "train_loss", "training_loss", "loss_train", "upstream_loss")),
    "experts": ("number of experts (1 = dense)",
                ("experts", "n_experts", "num_experts", "e_experts", "num_local_experts")),
    "U": ("unique training tokens",
          ("u", "unique_tokens", "u_d", "u_unique_tokens", "n_unique_tokens", "unique")),
    "S": ("optimizer steps", ("s", "step", "steps", "optimizer_step", "train_step", "iteration")),
    "S1": ("forward learning-rate area (sum of the rate over steps)", ("s1", "lr_area")),
    "S2": ("annealing area of the learning rate (with momentum)", ("s2", "annealing_area")),
}

#: The names a law may take as inputs: N, D, C and the covariates.
LAW_INPUTS: tuple[str, ...] = (*(s for s in STANDARD if s != "loss"), *COVARIATES)

#: Every law input with its description in law texts (formulas, parameter descriptions, axis
#: labels); read-only.
INPUT_DESCRIPTIONS = MappingProxyType({
    "N": "model size (parameters)",
    "D": "training tokens",
    "C": "training compute (FLOPs)",
    **{k: desc for k, (desc, _) in COVARIATES.items()},
    "aspect": "aspect ratio d_model/n_layers (width/depth)",
})


def describe(name: str) -> str:
    """The description of column ``name`` in data messages."""
    return DESCRIPTIONS[name] if name in DESCRIPTIONS else COVARIATES[name][0]
