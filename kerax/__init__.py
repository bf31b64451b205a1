"""kerax: the Keras API on pure JAX functions."""
