"""Image learners trained from pixels and labels alone (no downloaded weights, no network).

Pure learning code, independent of any service's wire format, so every emulator can
reuse it: :mod:`pixels` decodes images, :mod:`features` turns pixels into vectors,
:mod:`classifier` and :mod:`detector` fit and predict, :mod:`metrics` scores
predictions and :mod:`state` stores a fitted model as numpy arrays and plain values.
"""
