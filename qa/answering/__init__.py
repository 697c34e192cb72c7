"""Answering: the question read, hybrid retrieval, candidate sentences, the one decision, the extractive reader, tuned weights and the answer records."""
