"""Evaluations of the product's own stages against gold data (segmentation on ChangeMyView)."""
