"""Slip-risk model: will an item in flight slip within the horizon? (`features`: labels and features
as of a date; `model`: train, score, evaluate)."""
