"""The machinery behind the lab: everything a student need not read to follow the lesson in common.py.

    data        the four Fashion-MNIST files: found, checked, read          (python -m tools.data)
    config      Config's flags, their help, and the one check of a configuration
    runs        where a run writes (runs/), and when it may update the lab's figures/ and results/
    files       files written whole or not at all; sections of Markdown files rewritten by programs
    run_all     make all: every out-of-date experiment, one training per core (python -m tools.run_all)
    claims      the report's quantitative claims and the rules that judge them
    report      REPRODUCTION.md, the overview figures and the README's tables (python -m tools.report)
    calibrate   which setup did the report run? (python -m tools.calibrate; its data in calibration/)
    show_data   figures/data.png (python -m tools.show_data)
    bench       the speed benchmarks (python -m tools.bench.bench, .step, .parallel)
"""
