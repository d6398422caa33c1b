import numpy as np

from stancemap.cluster import renumber


def test_renumber_orders_by_size_then_first_appearance():
    labels = np.array([5, 2, 2, -1, 7, 7, 5, 2, 7])
    assert renumber(labels).tolist() == [2, 0, 0, -1, 1, 1, 2, 0, 1]
