"""Bundled real scaling-law data sets (third-party measurements), as pandas DataFrames.

Every data set here was published by someone else; this package only reshaped it (renamed
columns, derived a few columns, dropped exact duplicates and unfinished runs). Each loader's
docstring (``_load_<name>``) gives the source, the licence, the units of every column and the
caveats. The CSV files (plain, or gzip-compressed where named ``*.csv.gz``) ship inside the
package (``scaling_bayes/data/files/``), so :func:`load_dataset` works from an installed wheel.

Standard columns
----------------
Every frame returned by :func:`load_dataset` starts with four ``float64`` columns, all finite
and > 0, followed by the data set's own extra columns (run names, groups, flags, ...). Two
exceptions: the one-dimensional learning curve ``bnsl_4digit_addition`` has only ``D`` and
``loss`` (its source gives no model size), and the mixture-of-experts sweep ``moe_activesl``
has only ``N`` and ``loss``, then ``experts`` (its source gives no token count, so no D or C):

``N``
    Model size in parameters. The *definition* differs between sources (total incl.
    embeddings, non-embedding, nominal name, derived from C/(6D), ...); each loader says which.
``D``
    Training tokens seen (measured, or derived as ``C/(6N)`` where the source only gives C).
``C``
    Training compute in FLOPs. Where the source reports its own FLOP number, ``C`` is that
    number and the ``6*N*D`` version is kept in ``C_6ND`` when the source has it. Where the
    source has only ``6ND``, ``C`` equals it (and ``C_6ND`` is kept). ``df.attrs
    ["flop_convention"]`` says which applies.
``loss``
    Final (or checkpoint) cross-entropy in nats per token on the source's evaluation set,
    unless the loader says otherwise (``llama3_digitized`` is a figure's y-axis of unstated
    normalization). Losses from different sources are **not comparable**: tokenizers and
    evaluation sets differ.

``df.attrs`` holds ``dataset`` (the name), ``source`` (a short citation) and
``flop_convention`` (how C and D were obtained).

This module imports only the standard library at import time; pandas is imported when a data
set is loaded. It never imports jax, numpyro or arviz.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from typing import TYPE_CHECKING

from scaling_bayes._core.errors import ScalingBayesError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["UnknownDatasetError", "list_datasets", "load_dataset"]

STANDARD_COLUMNS: tuple[str, ...] = ("N", "D", "C", "loss")


class UnknownDatasetError(ScalingBayesError):
    """Raised by :func:`load_dataset` for a name that is not bundled."""


# ---------------------------------------------------------------------------------------------
# helpers


def _read(filename: str) -> pd.DataFrame:
    """Read a bundled CSV, gzip-compressed if its name ends in ``.gz`` (fresh DataFrame on
    every call; pandas cannot infer the compression of an open file, so it is named here)."""
    import pandas as pd

    resource = files(__package__) / "files" / filename
    compression = "gzip" if filename.endswith(".gz") else None
    with resource.open("rb") as fh:
        return pd.read_csv(fh, compression=compression)


def _finish(
    df: pd.DataFrame,
    extra: list[str],
    *,
    name: str,
    source: str,
    flop_convention: str,
) -> pd.DataFrame:
    """Order columns (standard first), cast them to float64, drop rows lacking N/D/C/loss."""
    out = df.loc[:, [*STANDARD_COLUMNS, *extra]].copy()
    for col in STANDARD_COLUMNS:
        out[col] = out[col].astype("float64")
    out = out.dropna(subset=list(STANDARD_COLUMNS)).reset_index(drop=True)
    out.attrs = {"dataset": name, "source": source, "flop_convention": flop_convention}
    return out


# ---------------------------------------------------------------------------------------------
# one loader per data set


def _load_chinchilla(drop_excluded: bool) -> pd.DataFrame:
    """Chinchilla (Hoffmann et al. 2022) Figure 4 points, as extracted by Epoch AI (245 rows).

    Source
        Besiroglu, Erdil, Barnett, You (2024) "Chinchilla Scaling: A replication attempt"
        (arXiv:2404.10102). Repo ``epoch-research/analyzing-chinchilla`` @
        ``92258837425e1b5f2851d624287f0120583a3d0e``, file ``data/svg_extracted_data.csv``.
        Epoch extracted the points from the SVG of Hoffmann et al. (2022) "Training
        Compute-Optimal Large Language Models" (arXiv:2203.15556), Figure 4.
    Licence
        None stated.
    Columns
        ``N``: 'Model Size', parameters (Chinchilla convention: total params, as in Table A9).
        ``D``: training tokens, **derived** as ``C/(6N)`` (as Epoch does).
        ``C``: 'Training FLOP', FLOPs, as extracted from the figure.
        ``loss``: the figure's final loss on MassiveText, nats/token (the paper does not say
        whether training or validation loss).
        ``C_isoflop_nominal``: FLOPs; the nearest of the 9 Chinchilla IsoFLOP budgets
        {6e18, 1e19, 3e19, 6e19, 1e20, 3e20, 6e20, 1e21, 3e21} when within 10 %, else NaN
        (129 points snap).
        ``epoch_excluded``: bool, True for the 5 highest-loss points, which Epoch drops from
        its main fit. ``drop_excluded=True`` removes them (240 rows remain).
    Caveats
        Values carry SVG-extraction error (N and C are not exact integers; a few near-duplicate
        points exist). D is derived, not measured. Not every point is a separate IsoFLOP run.
    """
    df = _read("chinchilla_epoch.csv")
    if drop_excluded:
        df = df[~df["epoch_excluded"].astype(bool)]
    return _finish(
        df,
        ["C_isoflop_nominal", "epoch_excluded"],
        name="chinchilla",
        source="Hoffmann et al. 2022 (Fig. 4), extracted by Besiroglu et al. 2024 (Epoch AI)",
        flop_convention="C as extracted by Epoch AI from the figure; D = C/(6N) derived",
    )


def _load_porian2024(drop_excluded: bool) -> pd.DataFrame:
    """Porian et al. (2024) IsoFLOP points, 15 (dataset, setting) combinations (1745 rows).

    Source
        Porian, Wortsman, Jitsev, Schmidt, Carmon (2024) "Resolving Discrepancies in
        Compute-Optimal Scaling of Language Models" (arXiv:2406.19146). Repo
        ``formll/resolving-scaling-law-discrepancies`` @
        ``0dc60d91b8a525858a3067fc9e4a46ff5374cc6f``, files ``data/summary_df.pickle.xz``,
        ``summary_df_att.pickle.xz``, ``summary_df_kaplan_tuned_hparams.pickle.xz``,
        ``summary_df_owt2.pickle.xz`` (the repo's ``data[*].orig_n/orig_t/orig_loss``).
    Licence
        MIT (LICENSE of the repo; it carries a stray "Copyright (c) 2012-2024 Scott Chacon and
        others" line).
    What a row is
        For each FLOP budget C in {1.25e16 * 2**k, k = 0..11} (up to 2.56e19), the loss of
        model size N at compute C: the best over hyper-parameter/seed variants of that N, read
        off a training curve at that compute by log-log interpolation within +-10 % of C.
    Columns
        ``N``: parameters, under the row's ``N_convention``.
        ``D``: training tokens, **derived** as ``C/(6N)`` (so C = 6ND exactly under the row's
        N convention).
        ``C``: the IsoFLOP budget, FLOPs.
        ``loss``: nats/token; validation loss where ``loss_type == "val"``, smoothed training
        loss where ``loss_type == "train"``.
        ``dataset``: ``refinedweb`` / ``openwebtext2``.
        ``setting``: the paper's Figure-1 steps (``reproducing_kaplan``,
        ``counting_last_layer_flops``, ``correcting_warmup``, ``cosine_decay``,
        ``optimizer_tuning_no_decay``), plus ``*_attention`` variants and
        ``kaplan_tuned_hparams``.
        ``hparams``, ``warmup``, ``decay``: the run recipe labels.
        ``N_convention``: ``nonembedding_plus_output_head`` (the paper's "standard" count,
        incl. the unembedding matrix), ``nonembedding_excl_head`` (Kaplan-style),
        ``effective_incl_attention_flops`` ((FLOPs/token incl. attention)/6).
        ``loss_type``: ``val`` / ``train``.
        (The raw file's ``source_file`` column is dropped; the grouping columns identify it.)
    Caveats
        Post-processed curves, not raw runs (the raw per-run curves were not available).
        GPT-NeoX tokenizer (vocab 50432), sequence length 2048; 16 shapes, 5M-901M params.
        Always fit one (dataset, setting) group at a time: N conventions and loss types
        differ between groups. No rows are flagged as excluded, so ``drop_excluded`` is a
        no-op.
    """
    del drop_excluded  # no exclusion flag in the source
    df = _read("porian2024_isoflop.csv")
    return _finish(
        df,
        ["dataset", "setting", "hparams", "warmup", "decay", "N_convention", "loss_type"],
        name="porian2024",
        source="Porian et al. 2024, arXiv:2406.19146",
        flop_convention="C = the source's IsoFLOP budget; D = C/(6N) derived under the row's "
        "N_convention",
    )


def _load_muennighoff2023(drop_excluded: bool) -> pd.DataFrame:
    """Datablations final validation losses with repeated data (296 rows).

    Source
        Muennighoff et al. (2023) "Scaling Data-Constrained Language Models"
        (arXiv:2305.16264). Repo ``huggingface/datablations`` @
        ``13701315b163f1c54642b94ad237b2699187c3ee``, file ``utils/parametric_fit.ipynb``:
        the ``NAMES_TO_VAL_LOSSES`` dict of cell 1, each entry checked against the notebook's
        own printed parse in cell 2.
    Licence
        Apache-2.0 (LICENSE.md; "All models & code are licensed under Apache 2.0").
    Columns
        ``N``: parameters (the notebook's ``PARAMS_MAP``; total incl. embeddings, GPT-2
        tokenizer), 7.1M-8.67B.
        ``D``: total training tokens (incl. repeats).
        ``C``: FLOPs, ``6*N*D`` computed by the data curators (the source gives no FLOPs).
        ``loss``: final validation loss on C4 (the notebook's "val designated folder"),
        nats/token.
        ``run_name``: original key; ``run_group``: name with seed/variant suffix removed;
        ``seed``: seed number (NaN where the name has none); ``tags``: name suffix (NaN if
        none).
        ``U_unique_tokens``: unique tokens in the training set; ``epochs`` = D/U
        (41 rows are single-epoch; up to 9000 epochs).
    Transform (done when the CSV was built)
        Dropped, as the notebook does, entries with loss 0 (unfinished) and names ending in
        ``dedup``. Seed replicates kept (up to 4 per config).
    Caveats
        31 rows have loss > 5: extreme repetition (e.g. 100M unique tokens for thousands of
        epochs) or divergence. The paper's parametric fits used a curated subset, which is
        not flagged in the source, so ``drop_excluded`` is a no-op. C4 runs only (no OSCAR).
    """
    del drop_excluded  # curated subset of the paper not flagged in the source
    df = _read("muennighoff2023_datablations.csv")
    return _finish(
        df,
        ["run_name", "run_group", "seed", "tags", "U_unique_tokens", "epochs"],
        name="muennighoff2023",
        source="Muennighoff et al. 2023, arXiv:2305.16264",
        flop_convention="C = 6ND computed from N and D (the source reports no FLOPs)",
    )


#: Gemstones' embedding parameters per unit width: untied input and output embeddings of a
#: 50,304-token vocabulary (inferred from the exact parameter counts; see the loader).
GEMSTONES_EMBEDDING_PER_WIDTH = 2 * 50304


def _load_gemstones2025(drop_excluded: bool) -> pd.DataFrame:
    """Gemstones: 22 width x depth shapes (48M-2B params), checkpoints and cooldowns (1169 rows).

    Source
        McLeish et al. (2025) "Gemstones: A Model Suite for Multi-Faceted Scaling Laws"
        (arXiv:2502.06857). Repo ``mcleish7/gemstone-scaling-laws`` @
        ``5f420478f6057b0cbb4d13405fb10ca64675bccb``, files
        ``wandb_dfs/wandb_df_for_fitting_{hot_100b+,cool_end,lr_ablation_hot}.jsonl``.
    Licence
        MIT.
    Columns
        ``N``: parameters (``params_active_precise``; includes embeddings).
        ``D``: training tokens at that checkpoint.
        ``C``: FLOPs, ``= C_6ND`` (the source gives no FLOP number).
        ``loss``: validation loss logged to wandb at that step, nats/token.
        ``C_6ND``: 6ND, FLOPs.
        ``phase``: ``constant_lr_checkpoint`` = checkpoints every ~10B tokens of the main
        constant-LR-after-warmup run, up to 350B tokens (770 rows, 22 shapes);
        ``after_cooldown`` = loss at the end of a separate linear-cooldown branch started from
        a checkpoint (every ~10B tokens up to ~110B; 199 rows, 20 shapes), each acting like a
        completed run of that length; ``constant_lr_half_lr_ablation`` = the same shapes
        retrained with a lower LR, to ~100B (200 rows).
        ``run_name``; ``width`` (model dim), ``depth`` (layers), ``step`` (optimizer step).
        ``N_nonembedding``: ``N - 100608 * width``, the count without the input and output
        embeddings (2 x a 50,304-token vocabulary, untied). Derived here, not in the source:
        the vocabulary size is inferred from the exact counts, which equal
        ``15*depth*width^2 + (2*depth + 1)*width + 100608*width`` for 20 of the 22 shapes
        (the two width-384 shapes differ in the attention block, not the embeddings).
        (The raw file's ``source_file`` column is dropped; ``phase`` identifies it.)
    Caveats
        Rows within a shape and phase are checkpoints of one run, so they are not independent;
        constant-LR checkpoints are not converged runs (use ``after_cooldown`` for
        Chinchilla-style fits). Several shapes are deliberately extreme (768x3, 256x80), so
        width/depth matter beyond N. Shapes 512x11 and 512x14 have no cooldown or ablation
        data. No rows are flagged as excluded, so ``drop_excluded`` is a no-op; select by
        ``phase`` instead.
    """
    del drop_excluded  # no exclusion flag in the source
    df = _read("gemstones2025.csv")
    df["C"] = df["C_6ND"]
    df["N_nonembedding"] = df["N"] - GEMSTONES_EMBEDDING_PER_WIDTH * df["width"]
    return _finish(
        df,
        ["C_6ND", "N_nonembedding", "phase", "run_name", "width", "depth", "step"],
        name="gemstones2025",
        source="McLeish et al. 2025, arXiv:2502.06857",
        flop_convention="C = C_6ND = 6ND (the source reports no FLOPs)",
    )


def _load_opt_trajectories(drop_excluded: bool) -> pd.DataFrame:
    """OPT 125M-175B validation perplexity along training (142 rows).

    Source
        Validation-perplexity trajectories of the OPT models (Zhang et al. 2022,
        arXiv:2205.01068) as studied by Xia et al. (2022) "Training Trajectories of Language
        Models Across Scales" (arXiv:2212.09803), distributed in Choshen, Zhang, Andreas (2025)
        "A Hitchhiker's Guide to Scaling Law Estimation" data collection: repo ``IBM/ColPret``
        @ ``16f23bbe054277ddc4afd07a972dd7cfbe3f48c3``, file
        ``aggregated_eval/opt_trajectories.csv``.
    Licence
        MIT (ColPret). The original trajectory data is from Xia et al.; its licence was not
        checked.
    Columns
        ``N``: parameters, the **nominal** size of the model name (125M, 1.3B, 6.7B, 13B, 30B,
        175B), not an exact count (the source's ``N_nominal``).
        ``D``: training tokens = 10**(source ``num_token``) = steps x OPT batch size
        (0.5M/1M/2M/4M/4M/2M tokens).
        ``C``: FLOPs, ``= C_6ND`` (the source gives no other FLOP number).
        ``loss``: ``ln(perplexity)``, nats/token.
        ``C_6ND``: 10**(source ``flops``) = 6 * N_nominal * D, FLOPs.
        ``model`` (e.g. ``OPT-1.3b``), ``step`` (optimizer step), ``perplexity`` (source
        ``ppl``).
    Caveats
        Intermediate checkpoints of a single linear-decay run per size (not independent, not
        converged runs). The 175B run had restarts. The perplexity's eval set is Xia et al.'s
        (not re-verified). Only 6 sizes. No exclusion flag, so ``drop_excluded`` is a no-op.
    """
    del drop_excluded  # no exclusion flag in the source
    df = _read("opt_trajectories.csv")
    df["N"] = df["N_nominal"]
    df["C"] = df["C_6ND"]
    return _finish(
        df,
        ["C_6ND", "model", "step", "perplexity"],
        name="opt_trajectories",
        source="Xia et al. 2022 (OPT, Zhang et al. 2022), via Choshen et al. 2025 (IBM/ColPret)",
        flop_convention="C = C_6ND = 6ND with N the nominal model size",
    )


def _load_marin2026(drop_excluded: bool) -> pd.DataFrame:
    """Marin "scaling ladder" IsoFLOP runs on 3 data mixes, 157M-11.8B params (273 rows).

    Source
        Marin community "Scaling Ladders" wandb report (exp2166 / isoflop runs), as vendored
        by ``Open-Athena/scaling-law-analysis`` @ ``3e0656ee3dce1a2c89aa67691920f5eb9d30f0fc``,
        files ``data/isoflops/extract/marin_202603/raw/isoflop-{comma,dclm,nemotron}.csv``
        (wandb exports).
    Licence
        None stated in Open-Athena/scaling-law-analysis. Marin itself is an open project;
        the licence of the wandb data is unverified.
    Columns
        ``N``: parameters (wandb ``parameter_count``; Llama-2-style architecture; presumably
        total incl. embeddings, unverified).
        ``D``: training tokens (``throughput/total_tokens``).
        ``C``: FLOPs, the logged total training FLOPs (``throughput/total_gflops`` x 1e9; the
        source's ``C_total_logged`` column, not repeated).
        ``loss``: ``eval/paloma/macro_loss`` (Paloma macro average), nats/token.
        ``C_6ND``: 6ND, FLOPs (C_6ND / C is 0.93-1.35).
        ``train_dataset``: ``comma`` / ``dclm`` / ``nemotron`` mix.
        ``run_name``; ``budget_in_name``: the FLOP budget in the run name (see caveat);
        ``validation_optimal_run``: bool, one of the 15 "validation-optimal" runs.
        ``batch_size`` (sequences), ``lr`` (peak learning rate; NaN for 96 rows where the
        export has none), ``steps``, ``hidden_dim``, ``num_layers``.
    Caveats
        FLOPs: for regular runs ``C`` ~= 3 x ``budget_in_name`` exactly: the name gives
        forward-pass FLOPs. For the 15 validation-optimal runs the name already equals the
        total FLOPs. Group IsoFLOP curves by (``train_dataset``, ``budget_in_name``) and
        exclude ``validation_optimal_run`` rows (as Open-Athena does):
        ``drop_excluded=True`` drops them (258 rows remain). ``N`` definition unverified.
    """
    df = _read("marin2026_isoflop.csv")
    df["C"] = df["C_total_logged"]
    if drop_excluded:
        df = df[~df["validation_optimal_run"].astype(bool)]
    return _finish(
        df,
        [
            "C_6ND", "train_dataset", "run_name", "budget_in_name", "validation_optimal_run",
            "batch_size", "lr", "steps", "hidden_dim", "num_layers",
        ],
        name="marin2026",
        source="Marin 'Scaling Ladders' wandb runs, via Open-Athena/scaling-law-analysis",
        flop_convention="C = total training FLOPs logged by wandb (throughput/total_gflops); "
        "6ND kept in C_6ND",
    )


def _load_xlstm2025(drop_excluded: bool) -> pd.DataFrame:
    """xLSTM scaling-law IsoFLOP runs: Llama-style Transformer and mLSTM, ctx 2k/8k/16k.

    429 completed runs of the 459 in the file.

    Source
        Beck, Schweighofer, Boeck, Lehner, Hochreiter (2025) "xLSTM Scaling Laws: Competitive
        Performance with Linear Time-Complexity" (arXiv:2510.02228, ICLR 2026). Repo
        ``NX-AI/xlstm_scaling_laws`` @ ``604bb3062d3a7681bb33e467108cb0a6f81267fc``, files
        ``data/isoflop_{llama_ctx2048,llama_ctx8192,llama_ctx16384,
        llama_ctx8192_flops_chinchilla,mlstm_ctx16384,mlstm_ctx8192_large_gbs256}
        _wandb_data.pkl`` (each run's wandb ``summary`` and ``config``).
    Licence
        None stated (no LICENSE file at that commit).
    Columns
        ``N``: parameters (wandb ``model/num_params``; total incl. embeddings, vocab 50304).
        ``D``: training tokens = ``steps x global_batch_size x ctx``.
        ``C``: FLOPs, ``= C_6ND`` (the source gives no FLOP number here).
        ``loss``: final validation loss on DCLM (``val/dclm_loss``), nats/token.
        ``C_6ND``: 6ND, FLOPs.
        ``arch``: ``transformer_llama`` / ``xlstm_mlstm``; ``ctx``: context length (tokens);
        ``dataset_file``: the source file (one IsoFLOP study each); ``run_name``, ``run_id``
        (wandb); ``steps``, ``global_batch_size`` (sequences), ``peak_lr``;
        ``isoflop_budget_nominal`` (FLOPs; see caveat); ``train_loss_final_mean`` (nats).
    Transform
        Only runs with ``completed == True`` (final step == planned steps) are kept, whatever
        ``drop_excluded`` says: 30 runs did not finish and most of them lack N or loss. The
        then-constant ``completed`` column is dropped. ``drop_excluded`` has no further effect.
    Caveats
        ``isoflop_budget_nominal`` is the data curators' **inference**, not the authors':
        runs cluster in log10(C_6ND) within each file and the clusters were mapped in order to
        the budgets listed in the repo (6e18, 1e19, 3e19, 1e20). The offset log10(C_6ND /
        budget) is constant per file (-0.12 Llama ctx8k, -0.26 ctx16k, +0.02 ctx2k, -0.26
        Llama ctx8k with Chinchilla FLOP counting, +0.06 mLSTM ctx16k), consistent with
        attention FLOPs not counted in 6ND, but unconfirmed. Not available (files over 4 MiB):
        the paper's main ctx-8192 mLSTM IsoFLOP set, mLSTM ctx2048 and the token/param-ratio
        sweeps. One Llama ctx8k config (400M, 8600 steps) has two completed runs whose losses
        differ by 0.12 nats; both are kept.
    """
    del drop_excluded  # incomplete runs are always dropped; nothing else is flagged
    df = _read("xlstm2025_isoflop.csv")
    df = df[df["completed"].astype(bool)].copy()
    for col in ("steps", "global_batch_size"):
        if df[col].notna().all():
            df[col] = df[col].astype("int64")
    df["C"] = df["C_6ND"]
    return _finish(
        df,
        [
            "C_6ND", "arch", "ctx", "dataset_file", "run_name", "run_id", "steps",
            "global_batch_size", "peak_lr", "isoflop_budget_nominal", "train_loss_final_mean",
        ],
        name="xlstm2025",
        source="Beck et al. 2025, arXiv:2510.02228",
        flop_convention="C = C_6ND = 6ND (attention FLOPs not counted); D = steps x batch x ctx",
    )


def _load_llama3_digitized(drop_excluded: bool) -> pd.DataFrame:
    """Llama 3 paper Figure 2 IsoFLOP points, digitized (133 rows, 10 budgets 6e18-1e22).

    Source
        Llama Team (2024) "The Llama 3 Herd of Models" (arXiv:2407.21783), Figure 2
        ("Scaling law IsoFLOPs curves"), digitized from the paper's SVG by
        ``eric-czech/llama3_isoflop_extraction`` @
        ``1bc1755b76e6ee55a911549c8ec52b71cb480320``, file ``isoflops_points.csv``.
    Licence
        None stated (third-party digitization of a figure).
    Columns
        ``N``: parameters, **derived** as ``C/(6D)`` (the source's ``N_derived``; the paper
        reports no model sizes).
        ``D``: training tokens, read off the figure's x-axis.
        ``C``: the IsoFLOP budget, FLOPs.
        ``loss``: the figure's "validation loss" as read; **not** plain nats/token: values are
        0.69-0.93 and the normalization is not stated in the paper.
    Caveats
        Use for minima locations and allocation exponents, not absolute loss. Digitization
        error applies to D and loss. No exclusion flag, so ``drop_excluded`` is a no-op.
    """
    del drop_excluded  # no exclusion flag in the source
    df = _read("llama3_isoflop_digitized.csv")
    df["N"] = df["N_derived"]
    return _finish(
        df,
        [],
        name="llama3_digitized",
        source="Llama Team 2024, arXiv:2407.21783 (Fig. 2), digitized by eric-czech",
        flop_convention="C = figure's IsoFLOP budget; D digitized; N = C/(6D) derived",
    )


def _load_bnsl_4digit_addition(drop_excluded: bool) -> pd.DataFrame:
    """BNSL paper's 4-digit-addition learning curve: test loss against training-set size (17 rows).

    A one-dimensional data set: only ``D`` and ``loss``, **no** ``N`` or ``C`` (one model
    size; the source does not give it). Fit it with a law in ``D`` alone (``bnsl1``,
    ``bnsl2``, ``power_D_E``).

    Source
        Caballero, Gupta, Rish, Krueger (2023) "Broken Neural Scaling Laws" (ICLR 2023,
        arXiv:2210.14891), Figure 4 left. Repo ``ethancaballero/broken_neural_scaling_laws`` @
        ``ffa608f7ca7910b6f6bcbd39915491353ad5d600``, file
        ``fit_bnsl_and_extrapolate__4_digit_addition__dataset_size_x-axis.py``; its ``x`` and
        ``y`` arrays parsed as literals.
    Licence
        None stated.
    Columns
        ``D``: the source's ``train_set_size``: number of training **examples** (addition
        problems), not tokens.
        ``loss``: the source's ``test_cross_entropy``, presumably nats per token (the script does
        not say; the values start near log 10 = 2.30, a uniform guess over digits).
        ``split``: ``fit`` for the first 14 points, ``extrapolate`` for the 3 largest training
        sets, as the script's ``split_point = 14``. ``drop_excluded=True`` keeps the ``fit``
        rows only (the paper's fit; the CLI default), so the 3 others stay held out.
    Caveats
        A sharp break (loss ~2.0 -> 0.56 between 512 and 928 examples) that single power laws
        cannot follow: a stress test, not a language-model scaling law. 17 points, no
        replicates, no error bars.
    """
    import pandas as pd

    df = _read("bnsl_4digit_addition.csv")
    if drop_excluded:
        df = df[df["split"] == "fit"]
    out = pd.DataFrame({
        "D": df["train_set_size"].astype("float64"),
        "loss": df["test_cross_entropy"].astype("float64"),
        "split": df["split"],
    }).reset_index(drop=True)
    out.attrs = {
        "dataset": "bnsl_4digit_addition",
        "source": "Caballero et al. 2023 (BNSL), Fig. 4 left, from the authors' script",
        "flop_convention": "D = training-set size (examples) given; no N or C",
    }
    return out


#: The OLMo ladder repo's training FLOPs per token (``src/scaling/utils.py`` ``MODEL_FLOPS``,
#: including attention), by the size names of this file (its "1.3B" is the "1B" rung).
OLMO_LADDER_FLOPS_PER_TOKEN = {
    "190M": 1903391232, "370M": 3443922944, "760M": 6373843968, "1B": 10109071360,
}

#: The extra columns of both OLMo ladder loaders: the run, its recipe, the other validation
#: losses and the downstream task losses (bits per byte) and accuracies.
_OLMO_RUN_COLUMNS = ["run", "size", "xC", "rerun", "step", "lr", "batch_tokens", "C_ladder"]


def _olmo_ladder_frame() -> pd.DataFrame:
    """Every checkpoint of the bundled ladder runs with the standard columns added."""
    df = _read("olmo_ladder_190m_1b.csv.gz")
    df = df.rename(columns={"file": "run"})
    df["D"] = df["tokens"]
    df["C"] = 6.0 * df["N"] * df["D"]
    df["loss"] = df["loss_c4_en"]
    df["C_ladder"] = df["size"].map(OLMO_LADDER_FLOPS_PER_TOKEN) * df["D"]
    return df


def _olmo_extra(df: pd.DataFrame) -> list[str]:
    measured = [c for c in df.columns if c.startswith(("loss_", "bpb_", "acc_"))]
    return [*_OLMO_RUN_COLUMNS, *measured]


_OLMO_SOURCE = "Bhagia et al. 2024, arXiv:2412.04403 (OLMo ladder, allenai/OLMo-ladder)"
_OLMO_FLOPS = ("C = 6ND (D = tokens seen); the ladder repo's own count, MODEL_FLOPS per token "
               "x D (attention included), is kept in C_ladder")


def _load_olmo_ladder(drop_excluded: bool) -> pd.DataFrame:
    """OLMo model ladder 190M-1B: the final checkpoint of each of the 24 runs (24 rows).

    Source
        Bhagia et al. (2024) "Establishing Task Scaling Laws via Compute-Efficient Model
        Ladders" (arXiv:2412.04403). Repo ``allenai/OLMo-ladder`` @
        ``67a3f440f787d020da35e3ca8eeae475fae754f5``, files
        ``src/scripts/paper/data/ladder-runs/<size>-<k>xC[-rerun].csv`` (bundled, all
        checkpoints, as ``olmo_ladder_190m_1b.csv.gz``; every checkpoint:
        ``load_dataset("olmo_ladder_curves")``).
    Licence
        Apache-2.0.
    What a row is
        The last logged checkpoint (largest ``step``) of one run: the ladder rungs 190M, 370M,
        760M and 1B, each trained to 0.5, 1, 2, 5 and 10 x the Chinchilla token count
        (``xC``; 20 tokens per parameter at 1xC), with its learning-rate schedule sized for that
        length; plus a second 1xC run per size (``rerun``), a seed-noise pair.
    Columns
        ``N``: parameters (the repo's ``MODEL_PARAMS``; total incl. embeddings).
        ``D``: tokens seen at that checkpoint (the source's ``tokens``).
        ``C``: FLOPs, ``6*N*D`` computed here. ``C_ladder``: the repo's own count,
        ``MODEL_FLOPS[size] * D`` (FLOPs per token incl. attention, 10.0 N for 190M to 7.9 N
        for 1B), so ``C_ladder/C`` is 1.3-1.7.
        ``loss``: validation cross-entropy on C4-en (``loss_c4_en``; the repo's
        ``eval/c4_en-validation/CrossEntropyLoss``), nats/token. The ladder's own step-1
        target is a *task* loss (``bpb_<task>``, bits per byte of the correct answer, one per
        task), not a language-modelling loss in nats/token; C4-en is the general validation
        loss the repo offers as the alternative intermediate (its ``y_metric="c4"``). For a
        task, fit ``df.assign(loss=df["bpb_hellaswag_val"] * np.log(2))`` or similar.
        ``run`` (the source file's run name, e.g. ``760M-2xC``), ``size`` (rung name),
        ``xC``, ``rerun`` (bool), ``step`` (optimizer step), ``lr`` (the learning rate at that
        step: the end of the decay, 0.1 x the run's peak), ``batch_tokens``.
        ``loss_<domain>``: validation cross-entropy, nats/token, on C4-en (= ``loss``), Dolma
        books / common-crawl / pes2o / reddit / stack / wiki, ICE, M2D2-S2ORC, Pile,
        WikiText-103. ``bpb_<task>``, ``acc_<task>``: bits per byte of the correct answer and
        accuracy (length-normalised where the paper uses it) on MMLU (mean of 4 groups),
        HellaSwag, ARC-Challenge, ARC-Easy, PIQA, CSQA, SocialIQA, OpenBookQA, Winogrande,
        BoolQ.
    Caveats
        Four model sizes only (the 3B-13B rungs of the ladder are not bundled), so N has 4
        distinct values. The 1xC run and its rerun share N and D (final losses differ by about
        0.001 nats). No rows are flagged as excluded, so ``drop_excluded`` is a no-op; select by
        ``rerun`` instead.
    """
    del drop_excluded  # no exclusion flag in the source
    df = _olmo_ladder_frame()
    last = df.loc[df.groupby("run", sort=False)["step"].idxmax()]
    last = last.sort_values(["N", "xC", "rerun"], kind="stable")
    return _finish(last, _olmo_extra(df), name="olmo_ladder", source=_OLMO_SOURCE,
                   flop_convention=_OLMO_FLOPS)


def _load_olmo_ladder_curves(drop_excluded: bool) -> pd.DataFrame:
    """OLMo model ladder 190M-1B: every logged checkpoint of the 24 runs, long format (2459 rows).

    Source
        Bhagia et al. (2024) "Establishing Task Scaling Laws via Compute-Efficient Model
        Ladders" (arXiv:2412.04403). Repo ``allenai/OLMo-ladder`` @
        ``67a3f440f787d020da35e3ca8eeae475fae754f5``, files
        ``src/scripts/paper/data/ladder-runs/<size>-<k>xC[-rerun].csv``.
    Licence
        Apache-2.0.
    Columns
        As in ``olmo_ladder`` (see ``_load_olmo_ladder``): ``N``; ``D`` = tokens seen at the
        checkpoint; ``C = 6*N*D``; ``loss`` = C4-en validation cross-entropy, nats/token;
        ``run`` identifies the run (24 runs, 37-163 checkpoints each, sorted by ``step``),
        ``lr`` is the learning rate at that step (warmup, then the decay sized for the run's
        own length), and the other ``loss_*``, ``bpb_*``, ``acc_*`` columns.
    Caveats
        Checkpoints within one run share the run's noise (they are not independent), and a
        mid-run checkpoint is not the loss a run stopped there would reach (its learning rate
        has not decayed): for an L(N, D) fit use ``olmo_ladder``, or a law of the learning
        curve that reads ``lr``. The first checkpoints (step 50, loss ~8 nats) are far from
        any scaling regime. No exclusion flag, so ``drop_excluded`` is a no-op.
    """
    del drop_excluded  # no exclusion flag in the source
    df = _olmo_ladder_frame()
    df = df.sort_values(["N", "xC", "rerun", "step"], kind="stable")
    return _finish(df, _olmo_extra(df), name="olmo_ladder_curves", source=_OLMO_SOURCE,
                   flop_convention=_OLMO_FLOPS)


def _load_moe_activesl(drop_excluded: bool) -> pd.DataFrame:
    """Mixture-of-experts sweep: validation loss against dense size and number of experts (193
    rows, 5 dense sizes 16.5M-368M x 1-512 experts).

    Only ``N`` and ``loss`` of the standard columns, then ``experts``: the source gives **no
    token count** (nor compute), so there is no ``D`` or ``C``. Fit it with a law of ``N`` and
    ``experts`` (``routed_moe``, ``moe_power``).

    Source
        The MoE task of the active-sl scaling-law benchmark: Li et al. (2026) "Spend Less, Fit
        Better: Budget-Efficient Scaling Law Fitting via Active Experiment Selection"
        (arXiv:2604.22753). Repo ``PlanarG/active-sl`` @
        ``e0a58ffde4f6fdfb20880d47d6d180fdbcb1440d``, file
        ``benchmark/dataset/moe_scaling_law/train-00000-of-00001.parquet`` (the benchmark's
        candidate pool; its ``group`` column, ``all_data`` on every row, dropped).
    Licence
        Code MIT; dataset card CC-BY-4.0.
    Columns
        ``N``: the source's ``dense_parameter_count``: parameters of the dense model the MoE
        is built from (the active parameters per token, roughly; not the total with all
        experts).
        ``loss``: the source's ``loss_validation``, validation cross-entropy, presumably
        nats/token (2.09-3.16; the card does not say).
        ``experts``: the source's ``num_experts``, 1 (dense), 2, 4, ..., 512.
    Caveats
        The benchmark's high-cost test region (28 rows at N = 1.31e9, in the repo's
        ``test-00000-of-00001.parquet``) is not bundled. Provenance of the runs beyond the
        benchmark card was not traced (the sizes and expert counts match Clark et al. 2022's
        routed-MoE sweep, unverified). Most (N, experts) cells hold 3 rows, a few 1-2 or 11-13,
        with spreads of 0.01-0.09 nats within a cell and no column that tells them apart
        (seeds, routing methods or token budgets: unknown), so the scatter is larger than a
        single-recipe sweep's. No rows are flagged as excluded, so ``drop_excluded`` is a no-op.
    """
    import pandas as pd

    del drop_excluded  # no exclusion flag in the source
    df = _read("moe_activesl_train.csv")
    out = pd.DataFrame({
        "N": df["dense_parameter_count"].astype("float64"),
        "loss": df["loss_validation"].astype("float64"),
        "experts": df["num_experts"].astype("float64"),
    }).dropna().reset_index(drop=True)
    out.attrs = {
        "dataset": "moe_activesl",
        "source": "Li et al. 2026 (active-sl benchmark, MoE task), arXiv:2604.22753",
        "flop_convention": "no D or C: the source gives no token count; N = dense parameter "
        "count, experts = number of experts",
    }
    return out


# ---------------------------------------------------------------------------------------------
# registry


@dataclass(frozen=True)
class _Dataset:
    filename: str
    loader: Callable[[bool], pd.DataFrame]
    description: str


_DATASETS: dict[str, _Dataset] = {
    "chinchilla": _Dataset(
        "chinchilla_epoch.csv",
        _load_chinchilla,
        "Chinchilla (Hoffmann 2022) Fig. 4 points extracted by Epoch AI; 245 rows (240 used "
        "by Epoch)",
    ),
    "porian2024": _Dataset(
        "porian2024_isoflop.csv",
        _load_porian2024,
        "Porian 2024 IsoFLOP points, 15 (dataset, setting) groups, 5M-900M params; 1745 rows",
    ),
    "muennighoff2023": _Dataset(
        "muennighoff2023_datablations.csv",
        _load_muennighoff2023,
        "Datablations (Muennighoff 2023) final C4 val losses with repeated data "
        "(U unique tokens, epochs); 296 rows",
    ),
    "gemstones2025": _Dataset(
        "gemstones2025.csv",
        _load_gemstones2025,
        "Gemstones (McLeish 2025) 22 width x depth shapes 48M-2B: checkpoints, cooldown "
        "branches, LR ablation; 1169 rows",
    ),
    "opt_trajectories": _Dataset(
        "opt_trajectories.csv",
        _load_opt_trajectories,
        "OPT 125M-175B validation loss along training (Xia 2022, via ColPret); 142 rows",
    ),
    "marin2026": _Dataset(
        "marin2026_isoflop.csv",
        _load_marin2026,
        "Marin 'scaling ladder' IsoFLOP runs on 3 data mixes, 157M-11.8B params; 273 rows "
        "(258 without validation-optimal runs)",
    ),
    "xlstm2025": _Dataset(
        "xlstm2025_isoflop.csv",
        _load_xlstm2025,
        "xLSTM scaling laws (Beck 2025) IsoFLOP runs, Llama Transformer vs mLSTM, ctx "
        "2k/8k/16k; 429 completed runs",
    ),
    "llama3_digitized": _Dataset(
        "llama3_isoflop_digitized.csv",
        _load_llama3_digitized,
        "Llama 3 (2024) Fig. 2 IsoFLOP points digitized, 6e18-1e22 FLOPs; N derived, loss of "
        "unstated normalization; 133 rows",
    ),
    "bnsl_4digit_addition": _Dataset(
        "bnsl_4digit_addition.csv",
        _load_bnsl_4digit_addition,
        "BNSL (Caballero 2023) 4-digit addition: test loss vs training-set size, D and loss "
        "only; 17 rows (14 fit + 3 held out)",
    ),
    "olmo_ladder": _Dataset(
        "olmo_ladder_190m_1b.csv.gz",
        _load_olmo_ladder,
        "OLMo model ladder (Bhagia 2024, arXiv:2412.04403) 190M-1B at 0.5-10x Chinchilla "
        "tokens: final checkpoint per run, C4-en loss, downstream bpb/acc; 24 rows",
    ),
    "olmo_ladder_curves": _Dataset(
        "olmo_ladder_190m_1b.csv.gz",
        _load_olmo_ladder_curves,
        "OLMo model ladder (Bhagia 2024, arXiv:2412.04403) 190M-1B: every checkpoint of the "
        "24 runs (run, step, lr), long format; 2459 rows",
    ),
    "moe_activesl": _Dataset(
        "moe_activesl_train.csv",
        _load_moe_activesl,
        "MoE sweep of the active-sl benchmark (Li 2026, arXiv:2604.22753): loss vs dense size "
        "16.5M-368M and 1-512 experts, no token count (N, loss, experts only); 193 rows",
    ),
}


def list_datasets() -> dict[str, str]:
    """Return ``{name: one-line description}`` for every bundled data set."""
    return {name: ds.description for name, ds in _DATASETS.items()}


def load_dataset(name: str, *, drop_excluded: bool = False) -> pd.DataFrame:
    """Load a bundled real scaling-law data set as a new pandas DataFrame.

    Parameters
    ----------
    name
        One of ``chinchilla``, ``porian2024``, ``muennighoff2023``, ``gemstones2025``,
        ``opt_trajectories``, ``marin2026``, ``xlstm2025``, ``llama3_digitized``,
        ``bnsl_4digit_addition``, ``olmo_ladder``, ``olmo_ladder_curves``, ``moe_activesl``
        (see :func:`list_datasets`; each ``_load_<name>`` docstring in this module gives the
        source, licence, column units and caveats).
    drop_excluded
        Drop the rows the source marks as excluded from its main analysis: ``chinchilla``:
        the 5 ``epoch_excluded`` points (240 remain, as in Epoch AI's fit); ``marin2026``:
        the ``validation_optimal_run`` rows (not part of the IsoFLOP grid);
        ``bnsl_4digit_addition``: the 3 ``extrapolate`` rows (held out by the paper). A no-op
        for data sets without such a flag.

    Returns
    -------
    pandas.DataFrame
        A fresh frame (mutating it does not affect later loads). The first columns are the
        standard ``N``, ``D``, ``C``, ``loss`` (float64, finite, > 0; only ``D``, ``loss`` for
        ``bnsl_4digit_addition``, only ``N``, ``loss`` for ``moe_activesl``), followed by the
        data set's extra columns. Rows with no N, D,
        C or loss (e.g. unfinished runs) are always dropped; for ``xlstm2025`` every run not
        marked ``completed`` is dropped as well.
        ``df.attrs`` holds ``dataset``, ``source`` (a short citation) and
        ``flop_convention`` (how C and D were obtained).

    Raises
    ------
    UnknownDatasetError
        ``name`` is not bundled; the message lists the available names.
    """
    try:
        ds = _DATASETS[name]
    except (KeyError, TypeError):
        raise UnknownDatasetError(
            f"unknown data set {name!r}; available: {', '.join(_DATASETS)}"
        ) from None
    return ds.loader(bool(drop_excluded))
