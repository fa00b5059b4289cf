"""Syncline."""
