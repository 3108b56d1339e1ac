"""Suite-wide settings: small networks train fastest on one thread on these 2-core machines, and the
suite's runtime should not depend on how busy the other core is."""

import matplotlib
import torch

matplotlib.use("Agg")
torch.set_num_threads(1)
