"""Integration: schemas hold, errors keep the envelope, pages add up, data round-trips."""
