"""The Azure Machine Learning (AutoML for images) backend: target, data conversion, names, wire mapping, backend."""
