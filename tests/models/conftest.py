import pandas as pd
import pytest
import torch

from wq.data.simulate import simulate_wetland

torch.set_num_threads(1)



@pytest.fixture(scope="session")
def wetland() -> pd.DataFrame:
    """320 days of the simulated wetland on a regular daily index, no gaps."""
    f = simulate_wetland(days=320, seed=3, missing=False).set_index("date")
    f.index = pd.DatetimeIndex(f.index, name="time", freq="D")
    return f.astype(float)
