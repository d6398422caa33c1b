import numpy as np

from stancemap.cluster import match_ids


def test_match_ids_keeps_the_previous_id_of_the_most_shared_group():
    keys = [f"k{i}" for i in range(8)]
    previous = {"k0": 4, "k1": 4, "k2": 4, "k3": 9, "k4": 9, "k5": -1}
    labels = np.array([0, 0, 1, 1, 1, -1, 2, 2])  # new group 1 shares k3, k4 with old 9 and k2 with old 4
    ids, next_id = match_ids(labels, keys, previous, next_id=10)
    assert ids.tolist() == [4, 4, 9, 9, 9, -1, 10, 10] and next_id == 11
    # a first run (nothing before) keeps the size order
    ids, next_id = match_ids(labels, keys, {}, next_id=0)
    assert ids.tolist() == labels.tolist() and next_id == 3
