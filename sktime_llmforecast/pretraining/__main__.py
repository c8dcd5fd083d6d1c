"""``python -m sktime_llmforecast.pretraining``: see :mod:`sktime_llmforecast.pretraining.cli`."""

from sktime_llmforecast.pretraining.cli import main

if __name__ == "__main__":  # pragma: no cover - exercised through subprocess tests
    raise SystemExit(main())
