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


def test_state_bytes_do_not_depend_on_which_dtype_objects_arrays_share():
    import io
    import pickle

    from stancemap.cluster.state import _StatePickler

    def dump(obj):
        buffer = io.BytesIO()
        _StatePickler(buffer, protocol=5).dump(obj)
        return buffer.getvalue()

    shared = np.zeros(3, np.float32)
    # equal to float32 but another dtype object, as arrays made by numba code from its disk cache are
    other = np.frombuffer(bytearray(np.arange(3, dtype=np.float32).tobytes()), dtype=np.dtype("f4").newbyteorder("="))
    same = np.arange(3, dtype=np.float32)
    assert other.dtype is not same.dtype and other.dtype == same.dtype
    assert dump([shared, other, np.float32(2.5)]) == dump([shared, same, np.float32(2.5)])
    same.flags.writeable = False  # read-only or not: the same bytes
    assert dump([shared, other, np.float32(2.5)]) == dump([shared, same, np.float32(2.5)])
    back = pickle.loads(
        dump(
            {
                "a": np.arange(6, dtype=np.int64).reshape(2, 3),
                "f": np.asfortranarray(np.eye(2)),
                "s": np.float64(1.5),
                "o": np.array(["x", None], dtype=object),
            }
        )
    )
    assert back["a"].tolist() == [[0, 1, 2], [3, 4, 5]] and back["a"].flags.writeable
    assert back["f"].tolist() == [[1.0, 0.0], [0.0, 1.0]] and back["s"] == 1.5 and isinstance(back["s"], np.float64)
    assert back["o"].tolist() == ["x", None]  # object arrays keep numpy's own pickling
