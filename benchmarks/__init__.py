"""The benchmark suite (issue 7): accuracy against peers, speed against the machine's limit, growth with data.

Run it with ``python benchmarks/run.py [--quick]``; see ``docs/benchmarks.md``. Parts:

- :mod:`benchmarks.machine`: machine description, medians of repeated timings, peak memory;
- :mod:`benchmarks.peers`: statsforecast and scikit-learn peers on wq's splits;
- :mod:`benchmarks.accuracy`: single split and rolling origin, wq's models and the peers side by side;
- :mod:`benchmarks.speed`: matmul rate, FLOPs of a training epoch, epoch time vs that floor, wavelet vs memory;
- :mod:`benchmarks.growth`: time and peak memory of each stage and command as the data grow;
- :mod:`benchmarks.report`: the Markdown report and figures;
- :mod:`benchmarks.suite`: the command's arguments and the order of the sections.
"""
