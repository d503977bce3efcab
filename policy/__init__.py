"""CrossGuard policy pack of vision-gitops (policies in :mod:`policy.policies`; the pack in ``__main__.py``)."""
