"""The machinery behind the lab: everything a student need not read to follow the lesson in common.py. In floors,
each module importing only from the floors below it (tests/test_layers.py holds it to that):

Below the lesson, what common.py stands on:
    places      where things are: the lab's root, its scripts, the lab's record (figures/, results/), runs/
    files       files written whole or not at all; files made from data, checked or rewritten; one-line errors
    data        the four Fashion-MNIST files: found, checked, read; the class names         (python -m tools.data)
    words       the figures' words in English or in the report's Spanish (--lang, $LAB_LANG)
    config      Config's flags, their help, and the one check of a configuration
    records     what a run records (results.json, its format), and the words for what ran
    drawing     what the figures share: a band over seeds, a grid of predicted images
    board       a run's TensorBoard events (tensorboard --logdir runs)
    runs        where a run writes, and how a run is found again by its name

The lesson: common.py.

Above it, what uses the lesson:
    experiments an experiment script read as its Config and pieces, without training it
    trained     a run's model loaded back, its weights checked
    run_all     make all: every out-of-date experiment, one training per core          (python -m tools.run_all)
    claims      the report's quantitative claims and the rules that judge them
    report      REPRODUCTION.md, the overview figures and the README's tables           (python -m tools.report)
    calibrate   which setup did the report run? (its data in calibration/)             (python -m tools.calibrate)
    predict     a trained model asked about test images or image files                 (python -m tools.predict)
    compare     runs' validation curves on one pair of axes                            (python -m tools.compare)
    show_data   figures/data.png                                                        (python -m tools.show_data)
    search      the structured search with Optuna, a package (its README.md)            (python -m tools.search)
    bench       the speed benchmarks                         (python -m tools.bench.bench, .step, .parallel, .board)
    postgres    a throwaway PostgreSQL server for the tests and the search's benchmark
"""
