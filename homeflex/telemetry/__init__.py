"""Meter readings in, baselines, delivery and payments out."""
