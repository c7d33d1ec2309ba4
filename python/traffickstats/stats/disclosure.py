"""placeholder"""
def suppress(*a, **k):
    raise NotImplementedError
def apply_min_cell(*a, **k):
    raise NotImplementedError
