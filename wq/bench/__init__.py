"""The benchmark suite (issue 7): accuracy against peers, speed against the machine's limit, growth with data.

Run it with ``python pipelines/benchmark.py [--quick]``; see ``docs/benchmarks.md``. Parts:

- :mod:`wq.bench.machine`: machine description, medians of repeated timings, peak memory;
- :mod:`wq.bench.peers`: statsforecast and scikit-learn peers on wq's splits;
- :mod:`wq.bench.accuracy`: single split and rolling origin, wq's models and the peers side by side;
- :mod:`wq.bench.speed`: matmul rate, FLOPs of a training epoch, epoch time vs that floor, wavelet vs memory;
- :mod:`wq.bench.growth`: time and peak memory of each stage and command as the data grow;
- :mod:`wq.bench.report`: the Markdown report and figures;
- :mod:`wq.bench.suite`: the command's arguments and the order of the sections.
"""
